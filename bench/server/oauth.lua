-- wrk script: one OAuth 1.0 PLAINTEXT header per request, as cloud-init sends it
-- (fresh nonce and timestamp each time). Credentials come from the environment.
local ck = os.getenv("PXM_CK")
local tk = os.getenv("PXM_TK")
local ts = os.getenv("PXM_TS")
local n = 0

request = function()
  n = n + 1
  local auth = string.format(
    'OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", ' ..
    'oauth_token="%s", oauth_signature="%%26%s", oauth_nonce="%d-%d", oauth_timestamp="%d"',
    ck, tk, ts, n, math.random(1000000000), os.time())
  return wrk.format("GET", nil, { ["Authorization"] = auth })
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, non2xx, latency:percentile(50), latency:percentile(99)))
end
