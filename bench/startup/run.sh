#!/bin/bash
# Start-up benchmark: `node dist/pxm.cjs --version` against `node -e 0` (the floor any
# Node CLI pays). hyperfine measures both; the pair is run ROUNDS times with the order
# swapped each round, and the ratio of medians is printed per round and overall.
# Target (issue 2): pxm within 1.7x of `node -e 0`.
# Usage: bash bench/startup/run.sh [ROUNDS] [RUNS]   (builds dist/pxm.cjs first)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
runs=${2:-30}
node scripts/build.mjs >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pxm="node dist/pxm.cjs --version"
base="node -e 0"
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then a=$pxm; b=$base; else a=$base; b=$pxm; fi
  hyperfine -N --warmup 5 --runs "$runs" --export-json "$out/$r.json" "$a" "$b" >/dev/null
done
node - "$out" "$rounds" "$pxm" "$base" <<'JS'
const fs = require('node:fs');
const [dir, rounds, pxm, base] = process.argv.slice(2);
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const all = { [pxm]: [], [base]: [] };
console.log('| round | pxm --version median ms | node -e 0 median ms | ratio |');
console.log('|---|---|---|---|');
for (let r = 1; r <= Number(rounds); r++) {
  const res = JSON.parse(fs.readFileSync(`${dir}/${r}.json`, 'utf8')).results;
  const m = Object.fromEntries(res.map((x) => [x.command, x.median]));
  for (const x of res) all[x.command].push(...x.times);
  console.log(`| ${r} | ${(m[pxm] * 1000).toFixed(1)} | ${(m[base] * 1000).toFixed(1)} | ${(m[pxm] / m[base]).toFixed(2)} |`);
}
const p = med(all[pxm]);
const b = med(all[base]);
console.log(`| all | ${(p * 1000).toFixed(1)} | ${(b * 1000).toFixed(1)} | ${(p / b).toFixed(2)} |`);
console.log(`\nbundle: ${(fs.statSync('dist/pxm.cjs').size / 1024).toFixed(0)} KiB; load: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
JS
