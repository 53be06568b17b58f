#!/bin/bash
# Builds (once) the minimal Debian 12 root the curthooks boot test installs: debootstrap
# minbase + a kernel, grub-pc and the x86_64-efi grub modules (so `grub: {firmware: both}`
# needs no package download inside the VM), systemd-sysv and ifupdown. Cached as
# ${PXM_CACHE_DIR:-/var/cache/pxm}/roots/hooks-<key>.tar.zst, the key being the hash of
# this script (suite, mirror and package list all live here). Prints the tarball path.
set -euo pipefail
SUITE=bookworm
MIRROR=${PXM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# zstd: initramfs-tools' default compressor (a Recommends, which minbase leaves out);
# without it update-initramfs falls back to gzip, minutes slower under emulation.
INCLUDE=linux-image-amd64,grub-pc,grub-efi-amd64-bin,systemd-sysv,ifupdown,udev,kmod,initramfs-tools,zstd,iproute2
self=$(readlink -f "$0")
key=$( (cat "$self"; echo "$MIRROR") | sha256sum | cut -c1-16)
cache=${PXM_CACHE_DIR:-/var/cache/pxm}/roots
out=$cache/hooks-$key.tar.zst
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
# Two test files may ask at once: one builds, the other waits and reuses it.
exec 9>"$out.lock"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi
work=$(mktemp -d /var/tmp/pxm-hooks-root.XXXXXX)
trap 'umount -R "$work/root" 2>/dev/null || true; rm -rf "$work"' EXIT
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/root" "$MIRROR" >&2
# The initramfs needs only what this root boots from under qemu: the virtio disk and
# ext4. MODULES=list keeps update-initramfs (run once by the initramfs curthook, inside
# the TCG guest for the hybrid test) to a few hundred file copies instead of the
# thousands of module lookups MODULES=most costs, minutes under emulation.
printf 'MODULES=list\n' > "$work/root/etc/initramfs-tools/conf.d/pxm-test-root.conf"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >> "$work/root/etc/initramfs-tools/modules"
# The image must not carry the build host's identity or resolver.
rm -f "$work/root/etc/resolv.conf" "$work/root/etc/hostname"
: > "$work/root/etc/machine-id"
# A root password-less console login is not needed: the test only reads the login prompt.
tar -C "$work/root" --numeric-owner --xattrs --xattrs-include='*' -cf - . | zstd -q -3 -T0 -o "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
