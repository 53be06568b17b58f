#!/usr/bin/env bash
# pxm block-meta vs a hand-written sfdisk+mkfs+mount script, same 2-disk layout, same run.
#
#   bench/block-meta/run.sh [ROUNDS]      (root; uses two 1 GiB sparse loop disks)
#
# Layout: disk A gpt (bios_grub 1M, ESP 64M vfat, root 400M ext4, swap 64M),
#         disk B msdos (primary 200M ext4 /srv, extended 200M with one logical 100M ext4 /var).
# Both sides wipe, partition, tell the kernel, mkfs every filesystem with a UUID, mount
# in path order and unmount again; pxm also discovers, validates, verifies the nodes and
# writes fstab. The two commands alternate (the order flips every round) and the
# medians and their ratio are printed. Only this script's own loop devices are touched.
set -euo pipefail
ROUNDS=${1:-9}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bundle="$repo/dist/pxm.cjs"
[[ -f $bundle ]] || node "$repo/scripts/build.mjs"

work=$(mktemp -d /tmp/pxm-bench-bm.XXXXXX)
A='' B=''
cleanup() {
  for m in $(grep -o " $work/[^ ]*" /proc/self/mounts | sort -r); do umount "$m" || umount -l "$m"; done
  for d in $A $B; do partx -d "$d" 2>/dev/null || true; losetup -d "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s 1G "$work/a.img" "$work/b.img"
A=$(losetup -f --show -P "$work/a.img")
B=$(losetup -f --show -P "$work/b.img")
T="$work/target"
mkdir -p "$T"

cat >"$work/storage.yaml" <<YAML
storage:
  version: 1
  config:
    - {id: a, type: disk, path: $A, ptable: gpt, wipe: superblock}
    - {id: a1, type: partition, device: a, size: 1M, flag: bios_grub}
    - {id: a2, type: partition, device: a, size: 64M, flag: boot}
    - {id: a3, type: partition, device: a, size: 400M}
    - {id: a4, type: partition, device: a, size: 64M, flag: swap}
    - {id: b, type: disk, path: $B, ptable: msdos, wipe: superblock}
    - {id: b1, type: partition, device: b, size: 200M}
    - {id: b2, type: partition, device: b, size: 200M, flag: extended}
    - {id: b5, type: partition, device: b, size: 100M, flag: logical}
    - {id: fa2, type: format, volume: a2, fstype: fat32, label: ESP}
    - {id: fa3, type: format, volume: a3, fstype: ext4, label: root}
    - {id: fa4, type: format, volume: a4, fstype: swap}
    - {id: fb1, type: format, volume: b1, fstype: ext4}
    - {id: fb5, type: format, volume: b5, fstype: ext4}
    - {id: m3, type: mount, device: fb5, path: /var}
    - {id: m1, type: mount, device: fa3, path: /}
    - {id: m2, type: mount, device: fb1, path: /srv}
    - {id: m4, type: mount, device: fa4, path: none}
YAML

# The peer: what an operator would write by hand with the same tools, no checks.
cat >"$work/hand.sh" <<SH
#!/bin/bash
set -e
for d in $A $B; do wipefs -a -q \$d; partx -d \$d 2>/dev/null || true; done
sfdisk --no-tell-kernel -q $A <<T
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649
size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
size=400MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
size=64MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F
T
sfdisk --no-tell-kernel -q $B <<T
label: dos
start=2048, size=409600, type=83
start=411648, size=409600, type=5
start=413696, size=204800, type=83
T
partx -a $A; partx -a $B
mkfs.vfat -F 32 -n ESP ${A}p2 >/dev/null
mkfs.ext4 -q -F -L root -U \$(cat /proc/sys/kernel/random/uuid) ${A}p3
mkswap -U \$(cat /proc/sys/kernel/random/uuid) ${A}p4 >/dev/null
mkfs.ext4 -q -F -U \$(cat /proc/sys/kernel/random/uuid) ${B}p1
mkfs.ext4 -q -F -U \$(cat /proc/sys/kernel/random/uuid) ${B}p5
mount ${A}p3 $T; mkdir -p $T/srv $T/var
mount ${B}p1 $T/srv; mount ${B}p5 $T/var
umount $T/var $T/srv $T
SH
chmod +x "$work/hand.sh"

run_pxm() { node "$bundle" block-meta custom -c "$work/storage.yaml" -t "$T" --fstab "$work/fstab" --umount >/dev/null 2>"$work/pxm.err" || { cat "$work/pxm.err" >&2; return 1; }; }
run_start() { node "$bundle" --version >/dev/null; }
run_hand() { "$work/hand.sh" >/dev/null 2>"$work/hand.err" || { cat "$work/hand.err" >&2; return 1; }; }
# Times "$1" into LAST (seconds); a failed run is reported and counted, not timed.
fails_pxm=0 fails_hand=0
timeit() {
  local s=$EPOCHREALTIME
  if "$1"; then LAST=$(echo "$s $EPOCHREALTIME" | awk '{printf "%.3f", $2-$1}'); return 0; fi
  echo "$1 failed (not timed)" >&2; LAST=''; return 1
}

# Warm-up: page cache, first-run effects (not timed).
run_pxm; run_hand; run_pxm
grep -q ' /srv ext4 ' "$work/fstab" || { echo "pxm did not write the expected fstab" >&2; exit 1; }

pxm_t=() hand_t=() start_t=()
for ((i = 1; i <= ROUNDS; i++)); do
  for side in $( ((i % 2)) && echo pxm hand || echo hand pxm); do
    if timeit "run_$side"; then
      if [[ $side == pxm ]]; then pxm_t+=("$LAST"); else hand_t+=("$LAST"); fi
    elif [[ $side == pxm ]]; then fails_pxm=$((fails_pxm + 1)); else fails_hand=$((fails_hand + 1)); fi
  done
  # Node + bundle start-up alone (pxm --version), to split pxm's time.
  timeit run_start && start_t+=("$LAST")
  echo "round $i: pxm ${pxm_t[-1]:-} s, hand ${hand_t[-1]:-} s, pxm --version ${start_t[-1]:-} s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

mp=$(median "${pxm_t[@]}") mh=$(median "${hand_t[@]}") ms=$(median "${start_t[@]}")
ratio=$(awk -v a="$mp" -v b="$mh" 'BEGIN{printf "%.2f", a/b}')
work_ratio=$(awk -v a="$mp" -v s="$ms" -v b="$mh" 'BEGIN{printf "%.2f", (a-s)/b}')
echo "rounds=$ROUNDS pxm_median=${mp}s hand_median=${mh}s ratio=${ratio} pxm_startup_median=${ms}s ratio_without_startup=${work_ratio}"
echo "failed runs: pxm $fails_pxm, hand $fails_hand"
echo "pxm:     ${pxm_t[*]}"
echo "hand:    ${hand_t[*]}"
echo "startup: ${start_t[*]}"
