#!/usr/bin/env bash
# One markdown row per round from a bench/dhcp/run.sh work dir: for each server, the
# highest offered rate at which both DISCOVER->OFFER and REQUEST->ACK lost under 1 %
# (the reading in docs/benchmarks/dhcp.md), with the first failing rate and its drops.
#   bash bench/dhcp/table.sh /tmp/pxm-bench-dhcp
set -euo pipefail
WORK=${1:?work dir of bench/dhcp/run.sh}
for full in "$WORK"/r*-full/results.tsv; do
  round=$(basename "$(dirname "$full")" -full)
  proxy=$(dirname "$full")/../$round-proxy/results.tsv
  # pxm runs in both files: its proxy rows are named pxm-proxy.
  { cat "$full"; sed 's/^dhcp\tpxm\t/dhcp\tpxm-proxy\t/' "$proxy" 2>/dev/null; } | awk -F'\t' -v round="$round" '
    $1 == "dhcp" && $3 ~ /^target=/ {
      srv = $2; rate = substr($3, 8) + 0
      do_ = substr($5, 10); ra = substr($6, 10)
      ok = (do_ + 0 < 1) && (ra == "-" || ra + 0 < 1)
      if (!(srv in seen)) { seen[srv] = 1; order[++n] = srv }
      if (ok && rate > best[srv]) best[srv] = rate
      if (!ok && !(srv in fail))
        fail[srv] = sprintf("%d: DO %.2f %%%s", rate, do_, ra == "-" ? "" : sprintf(", RA %.2f %%", ra))
    }
    END {
      line = "| " round
      for (i = 1; i <= n; i++) {
        s = order[i]; cell = s " " (best[s] + 0)
        if (s in fail) cell = cell " (" fail[s] ")"
        line = line " | " cell
      }
      print line " |"
    }'
done
