#!/usr/bin/env bash
# Pack benchmark: `pxm pack` against makeself (Debian's self-extracting sh archiver,
# the closest peer that exists here; curtin is not packaged for Debian) on the same
# inputs: the pxm bundle + one config, and the same plus the stripped xz'd runtime.
# hyperfine runs every pair in ROUNDS rounds with the order rotated; medians over all
# runs. Also: installer sizes, `check` (verification) time, the cold (uncached)
# runtime pack, and buildInstaller() in-process (what the server pays per node).
#
# Usage: bash bench/pack/run.sh [ROUNDS] [RUNS_PER_ROUND]   (writes results to stdout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
runs=${2:-5}
work=$(mktemp -d /var/tmp/pxm-bench-pack-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"
node scripts/build.mjs >/dev/null
pxm=(node "$root/dist/pxm.cjs")

cat >"$work/site.yaml" <<'EOF'
reporting:
  maas: {type: webhook, endpoint: 'http://10.0.0.1/MAAS/metadata/status/abc123', consumer_key: ck, token_key: tk, token_secret: ts}
install: {log_file: /tmp/install.log, post_files: [/tmp/install.log]}
sources: {'00': 'http://10.0.0.1/images/root.tar.xz'}
storage:
  version: 1
  config:
    - {id: sda, type: disk, ptable: gpt, path: /dev/sda, wipe: superblock, grub_device: true}
    - {id: sda1, type: partition, device: sda, size: 1M, flag: bios_grub}
    - {id: sda2, type: partition, device: sda, size: 20G}
    - {id: sda2_root, type: format, volume: sda2, fstype: ext4}
    - {id: sda2_mount, type: mount, device: sda2_root, path: /}
late_commands:
  90_done: [sh, -c, 'echo done']
EOF

# Warm the runtime cache (a cold pack is timed separately below).
"${pxm[@]}" pack -o "$work/pxm-node.sh" --with-node --config "$work/site.yaml" >/dev/null

# makeself inputs: exactly pxm's payload files (taken from pxm's own installer).
mkdir -p "$work/ms" "$work/msn"
sh "$work/pxm-node.sh" dump | tar -xzf - -C "$work/msn"
cp -a "$work/msn/pxm.cjs" "$work/msn/configs" "$work/ms/"
printf '#!/bin/sh\nexec node ./pxm.cjs install --config configs/01-site.yaml "$@"\n' >"$work/ms/run.sh"
cp "$work/ms/run.sh" "$work/msn/run.sh"
chmod 755 "$work/ms/run.sh" "$work/msn/run.sh"
makeself_cmd() { # DIR OUT
  echo "makeself --gzip --sha256 --nomd5 --nocrc --quiet --tar-quietly --packaging-date fixed $1 $2 pxm ./run.sh"
}

declare -A cmds=(
  ['node -e 0 (start-up floor)']="node -e 0"
  ['pxm --version (CLI start-up)']="${pxm[*]} --version"
  ['pxm pack']="${pxm[*]} pack -o $work/pxm.sh --config $work/site.yaml"
  ['makeself']="$(makeself_cmd "$work/ms" "$work/makeself.sh")"
  ['pxm pack --with-node (cached)']="${pxm[*]} pack -o $work/pxm-node.sh --with-node --config $work/site.yaml"
  ['makeself + runtime']="$(makeself_cmd "$work/msn" "$work/makeself-node.sh")"
)
pairs=('pxm pack|makeself' 'pxm pack --with-node (cached)|makeself + runtime' 'node -e 0 (start-up floor)|pxm --version (CLI start-up)')
for r in $(seq 1 "$rounds"); do
  for pair in "${pairs[@]}"; do
    a=${pair%%|*} b=${pair##*|}
    if ((r % 2)); then order=("$a" "$b"); else order=("$b" "$a"); fi
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/h-$r-${a// /_}.json" \
      -n "${order[0]}" "${cmds[${order[0]}]}" -n "${order[1]}" "${cmds[${order[1]}]}" >/dev/null
  done
done

# Verification (`check`) of each installer, same alternation.
for r in $(seq 1 "$rounds"); do
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/c-$r.json" \
    -n 'check: pxm' "sh $work/pxm.sh check" -n 'check: makeself' "sh $work/makeself.sh --check" \
    -n 'check: pxm + runtime' "sh $work/pxm-node.sh check" \
    -n 'check: makeself + runtime' "sh $work/makeself-node.sh --check" >/dev/null
done

# Cold runtime pack: no cache, strip + xz -6 of the running node (one run; skip with
# PXM_BENCH_COLD=0, it takes 40 s of CPU).
cold_start=0 cold_end=0
if [ "${PXM_BENCH_COLD:-1}" != 0 ]; then
  cold_start=$(date +%s.%N)
  PXM_CACHE_DIR="$work/cold-cache" "${pxm[@]}" pack -o "$work/pxm-cold.sh" --with-node --config "$work/site.yaml" >/dev/null
  cold_end=$(date +%s.%N)
fi

api=$(npx tsx bench/pack/api.ts 20)

node - "$work" "$cold_start" "$cold_end" "$api" <<'EOF'
const fs = require('fs');
const path = require('path');
const [work, cs, ce, api] = process.argv.slice(2);
const times = {};
const cpu = {};
for (const f of fs.readdirSync(work).filter((f) => f.endsWith('.json'))) {
  for (const r of JSON.parse(fs.readFileSync(path.join(work, f))).results) {
    (times[r.command] ??= []).push(...r.times);
    (cpu[r.command] ??= []).push(r.user + r.system); // hyperfine gives CPU as a mean per invocation
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log('| command | runs | median wall | CPU user+sys (median of round means) |');
console.log('|---|---|---|---|');
for (const [k, v] of Object.entries(times)) {
  console.log(`| ${k} | ${v.length} | ${(median(v) * 1000).toFixed(0)} ms | ${(median(cpu[k]) * 1000).toFixed(0)} ms |`);
}
const size = (f) => fs.statSync(path.join(work, f)).size;
console.log('\n| installer | bytes |');
console.log('|---|---|');
for (const f of ['pxm.sh', 'makeself.sh', 'pxm-node.sh', 'makeself-node.sh']) console.log(`| ${f} | ${size(f)} |`);
if (Number(cs) > 0) console.log(`\ncold pxm pack --with-node (strip + xz, no cache): ${(Number(ce) - Number(cs)).toFixed(1)} s`);
console.log(`buildInstaller() in process: ${api}`);
console.log(`node bundle: ${size('msn/pxm.cjs')} bytes; runtime/node.xz: ${size('msn/runtime/node.xz')} bytes`);
EOF
