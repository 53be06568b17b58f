#!/usr/bin/env bash
# DHCP benchmark: pxm full mode against Kea (memfile, persisted CSV) and dnsmasq (lease
# file), and pxm proxy mode against dnsmasq's proxy, all driven by the shared harness
# ../shared/bench/bench-netboot.sh with the same perfdhcp clients (relay mode, PXE options).
# ROUNDS repeats the whole comparison (servers alternate within each round); the summary
# lines of every round go to $WORK/summary-all.txt. Root, Debian 12; ~10 min with defaults.
#
#   bench/dhcp/run.sh                 # DUR=5 RATES="500 1000 2000 4000 8000" ROUNDS=2
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$REPO/../shared/bench/bench-netboot.sh}
WORK=${WORK:-/tmp/pxm-bench-dhcp}
export DUR=${DUR:-5}
export RATES=${RATES:-"500 1000 2000 4000 8000"}
ROUNDS=${ROUNDS:-2}
[ -f "$REPO/dist/pxm.cjs" ] || (cd "$REPO" && npm run build)
command -v perfdhcp >/dev/null || bash "$HARNESS" install
rm -rf "$WORK"; mkdir -p "$WORK"
for round in $(seq 1 "$ROUNDS"); do
  for mode in full proxy; do
    w="$WORK/r$round-$mode"; mkdir -p "$w"
    if [ "$mode" = full ]; then peers="kea dnsmasq"; else peers="dnsmasq-proxy"; fi
    PXM_DHCP_MODE=$mode DHCP_SERVERS=$peers WORK=$w \
      PXM_DHCP_CMD="env WORK=$w REPO=$REPO MODE=$mode $REPO/bench/dhcp/pxm-dhcp.sh" \
      bash "$HARNESS" dhcp >"$w/run.log" 2>&1 || true
    { echo "## round $round, $mode"; sed -n '/=== summary/,$p' "$w/run.log"; grep -E 'probe|lease_lines' "$w/results.tsv" || true; } \
      | tee -a "$WORK/summary-all.txt"
  done
done
echo "results: $WORK/summary-all.txt"
