#!/usr/bin/env bash
# Started by bench-netboot.sh (PXM_DHCP_CMD) in the server namespace: a fresh data dir per
# run (so every run starts with an empty lease database, like dnsmasq/kea), then pxm server
# with DHCP on the benchmark's interface. MODE=full|proxy.
set -euo pipefail
: "${WORK:?}" "${REPO:?}" "${MODE:?}"
rm -rf "$WORK/pxm-data"
cat >"$WORK/pxm-dhcp.yaml" <<YAML
dhcp:
  subnet: 10.99.0.0/16
  range: [10.99.1.0, 10.99.254.254]
  lease_time: 43200
YAML
# PXM_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
exec node ${PXM_NODE_FLAGS:-} "$REPO/dist/pxm.cjs" server --data-dir "$WORK/pxm-data" --config "$WORK/pxm-dhcp.yaml" \
  --dhcp "$MODE" --interface pxmb-s --listen 10.99.0.1 --http-port 5240 --tftp-port 6969
