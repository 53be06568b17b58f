#!/usr/bin/env bash
# One server under bench-netboot.sh's DHCP load, traced: where replies are lost and how
# long they take. SERVER=pxm|kea, RATES (default 8000), DUR (5). Writes to $WORK:
#   counters      every 100 ms: time, then the server namespace's UDP InDatagrams,
#                 RcvbufErrors, OutDatagrams, then the client namespace's (/proc/net/snmp)
#   threads       (pxm) every 100 ms: time, then each thread's CPU ticks (main first)
#   client.pcap   the client side of the exchange (bench/dhcp/latency.mjs reads it)
# MODE=proxy traces pxm in proxy mode (DISCOVER->OFFER only; SERVER=dnsmasq-proxy for the peer)
# and prints the results rows, the receive-buffer errors of each side, and the latency
# per second. Needs root; uses the same namespaces as the benchmark (not at the same time).
#   SERVER=kea RATES="8000 9000" bash bench/dhcp/trace.sh
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HARNESS=${HARNESS:-$REPO/../shared/bench/bench-netboot.sh}
WORK=${WORK:-/tmp/pxm-dhcp-trace}
SERVER=${SERVER:-pxm}
rm -rf "$WORK"; mkdir -p "$WORK"
if [ "$SERVER" = pxm ]; then
  env PXM_DHCP_MODE="${MODE:-full}" DHCP_SERVERS=" " WORK="$WORK" RATES="${RATES:-8000}" DUR="${DUR:-5}" \
    PXM_DHCP_CMD="env WORK=$WORK REPO=$REPO MODE=${MODE:-full} $REPO/bench/dhcp/pxm-dhcp.sh" \
    bash "$HARNESS" dhcp >"$WORK/run.log" 2>&1 &
else
  env DHCP_SERVERS="$SERVER" WORK="$WORK" RATES="${RATES:-8000}" DUR="${DUR:-5}" \
    bash "$HARNESS" dhcp >"$WORK/run.log" 2>&1 &
fi
run=$!
snmp() { ip netns exec "$1" awk '/^Udp:/ { if (++n == 2) print $2, $6, $5 }' /proc/net/snmp 2>/dev/null; }
cap=
while kill -0 "$run" 2>/dev/null; do
  if [ -z "$cap" ] && ip netns exec pxmb-cli ip link show pxmb-c >/dev/null 2>&1; then
    timeout 600 ip netns exec pxmb-cli tcpdump -q -n -i pxmb-c -s 300 -B 32768 \
      -w "$WORK/client.pcap" udp port 67 2>/dev/null &
    cap=$!
  fi
  a=$(snmp pxmb-srv); b=$(snmp pxmb-cli); now=$(date +%s.%N)
  [ -n "$a" ] && [ -n "$b" ] && echo "${now:0:14} $a $b" >>"$WORK/counters"
  pid=$(pgrep -f "node.*pxm.cjs server" | head -1)
  if [ -n "$pid" ]; then
    line=${now:0:14}
    for t in /proc/"$pid"/task/*; do line="$line $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"; done
    echo "$line" >>"$WORK/threads"
  fi
  sleep 0.1
done
[ -n "$cap" ] && kill "$cap" 2>/dev/null && wait "$cap" 2>/dev/null
grep target "$WORK/results.tsv"
awk 'NR > 1 { s += $3 - se; c += $6 - ce } { se = $3; ce = $6 }
  END { printf "receive-buffer errors: server side %d, client side %d\n", s, c }' "$WORK/counters"
[ -s "$WORK/client.pcap" ] && node "$HERE/latency.mjs" "$WORK/client.pcap"
