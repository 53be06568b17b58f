#!/usr/bin/env bash
# TFTP benchmark: pxm's TFTP server against tftpd-hpa and atftpd, same clients (curl,
# atftp), same run, in two network namespaces joined by a veth pair (the shared harness
# ../shared/bench/bench-netboot.sh does the namespaces, pinning and medians).
#
#   bash bench/tftp/run.sh            # needs root; ~5 minutes; results in $WORK/results.tsv
#   REPEAT=5 TFTP_SERVERS="tftpd-hpa atftpd dnsmasq" bash bench/tftp/run.sh
#
# Record the summary table in docs/benchmarks/tftp.md. pxm logs one line per transfer
# (MB/s, retransmissions) to $WORK/tftp-pxm.out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
harness=${BENCH_NETBOOT:-$repo/../shared/bench/bench-netboot.sh}
export WORK=${WORK:-/tmp/pxmb}
export TFTP_SERVERS=${TFTP_SERVERS:-"tftpd-hpa atftpd"}
export REPEAT=${REPEAT:-3}

[ -x "$WORK/hpa/usr/sbin/in.tftpd" ] && command -v atftpd >/dev/null && command -v atftp >/dev/null ||
  bash "$harness" install

# Benchmark exactly what ships: the one-file bundle.
(cd "$repo" && node scripts/build.mjs)
# The harness runs this inside the server namespace; it must serve $WORK/tftproot on 10.99.0.1:69.
export PXM_TFTP_CMD="$(command -v node) $repo/dist/pxm.cjs tftp --root $WORK/tftproot --listen 10.99.0.1 --port 69"
rm -f "$WORK/results.tsv"
bash "$harness" tftp
