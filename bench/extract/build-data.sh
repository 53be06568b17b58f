#!/bin/bash
# Builds (once, cached) the ~300 MB rootfs-like tarball the extract benchmark serves,
# as gzip and zstd variants. Prints the directory holding root.tar.gz and root.tar.zst.
#
# Content: a debootstrap minbase root if one is cached at $PXM_BENCH_ROOTFS (a
# directory); otherwise real files from this machine's /usr, chosen to look like a
# root filesystem: ~30k small files (docs, Python and Perl modules, zoneinfo) plus large
# shared libraries. The cache key covers the file list with sizes and mtimes.
set -euo pipefail
cache=${PXM_CACHE_DIR:-/var/cache/pxm}/bench
mkdir -p "$cache"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -n "${PXM_BENCH_ROOTFS:-}" ] && [ -d "$PXM_BENCH_ROOTFS" ]; then
  src=$PXM_BENCH_ROOTFS
  (cd "$src" && find . -xdev -printf '%p\n' | LC_ALL=C sort) > "$list"
else
  src=/
  (
    cd /
    find usr/share/doc usr/share/man usr/lib/python3.11 usr/share/zoneinfo usr/share/perl \
      usr/lib/x86_64-linux-gnu/perl usr/lib/x86_64-linux-gnu/perl-base -xdev -printf '%p\n'
    # Large files: shared libraries, up to ~100 MB.
    find usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +1M -printf '%s %p\n' |
      LC_ALL=C sort -k2 | awk '{ t += $1; if (t > 100 * 1024 * 1024) exit; print $2 }'
  ) | LC_ALL=C sort > "$list"
fi
key=$( (echo "$src"; cd "$src" && tr '\n' '\0' < "$list" | xargs -0 stat -c '%n %s %Y' 2>/dev/null) | sha256sum | cut -c1-16)
out=$cache/extract-$key
if [ ! -f "$out/done" ]; then
  # Inputs changed (the host's /usr is updated): drop older datasets, keep one.
  rm -rf "$cache"/extract-*
  mkdir -p "$out"
  tar -c -C "$src" --no-recursion --numeric-owner --xattrs --xattrs-include='*' -T "$list" -f "$out/root.tar"
  gzip -6 -c "$out/root.tar" > "$out/root.tar.gz"
  zstd -q -3 -T0 -c "$out/root.tar" > "$out/root.tar.zst"
  rm -f "$out/root.tar"
  touch "$out/done"
fi
echo "$out"
