-- wrk script for the static peer: same output line as oauth.lua.
done = function(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, non2xx, latency:percentile(50), latency:percentile(99)))
end
