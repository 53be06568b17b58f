#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): installs the Debian
# packages the tests drive, the npm dependencies, checks lint and types, builds the
# bundle and runs every suite (unit, host integration on loop devices and network
# namespaces, VM). Heavy artefacts are cached in $PXM_CACHE_DIR (default /var/cache/pxm).
set -euo pipefail
cd "$(dirname "$0")/.."
export PXM_CACHE_DIR=${PXM_CACHE_DIR:-/var/cache/pxm}
bash scripts/install-deps.sh
npm ci --no-audit --no-fund --loglevel=error
npm run lint
npm run build
npx vitest run "$@"
