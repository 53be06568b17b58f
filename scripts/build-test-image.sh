#!/usr/bin/env bash
# Builds (or finds in the cache) the ephemeral image the VM tests boot, exactly as
# test/helpers/vm-image.ts does: with pxm's own builder from the current bundle, into
# ${PXM_CACHE_DIR:-/var/cache/pxm}. Run it once to warm a machine; the VM tests then
# start booting at once. Prints the image directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PXM_CACHE_DIR=${PXM_CACHE_DIR:-/var/cache/pxm}
node scripts/build.mjs >/dev/null
exec node dist/pxm.cjs images build-ephemeral --cache-dir "$PXM_CACHE_DIR" "$@"
