#!/usr/bin/env node
// Network renderer benchmark: pxm against Debian's cloud-init (the peer that renders the
// same v1/v2 configs), on curtin's network-all.yaml.
//  1. process level: `node pxm-render.cjs CFG OUT eni` vs `cloud-init devel net-convert
//     ... -O eni` (what a user or hook waits for: start-up + parse + render + write);
//  2. in process: parse + ENI render, N times in a loop, ms per render.
// Commands alternate every round (order rotates), each writes into a fresh directory;
// medians and ratios are printed. Usage: node bench/net/run.mjs [ROUNDS]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 7);
const cfg = path.resolve(here, '../../../shared/fixtures/curtin-examples/network-all.yaml');
const work = mkdtempSync(path.join(tmpdir(), 'pxm-bench-net-'));
const bundle = path.join(work, 'pxm-render.cjs');
await build({
  entryPoints: [path.join(here, 'pxm-render.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'warning',
});
readFileSync(cfg); // warm the page cache

const proc = {
  'pxm render (process)': (out) => [process.execPath, bundle, cfg, out, 'eni'],
  'cloud-init net-convert (process)': (out) => [
    '/usr/bin/python3',
    '/usr/bin/cloud-init',
    'devel',
    'net-convert',
    '-p',
    cfg,
    '-k',
    'yaml',
    '-d',
    out,
    '-D',
    'debian',
    '-O',
    'eni',
  ],
};
const loops = {
  'pxm parse+ENI (in process)': () => [process.execPath, bundle, '--loop', '200', cfg],
  'cloud-init parse+ENI (in process)': () => [
    '/usr/bin/python3',
    path.join(here, 'ci-loop.py'),
    '20',
    cfg,
  ],
};

const times = {};
const names = [...Object.keys(proc), ...Object.keys(loops)];
for (const n of names) times[n] = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
for (let r = 0; r < rounds; r++) {
  const order = Object.keys(proc);
  if (r % 2) order.reverse();
  for (const n of order) {
    const out = mkdtempSync(path.join(work, 'out-'));
    const [cmd, ...args] = proc[n](out);
    const t = process.hrtime.bigint();
    execFileSync(cmd, args, { stdio: 'ignore' });
    times[n].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const lorder = Object.keys(loops);
  if (r % 2) lorder.reverse();
  for (const n of lorder) {
    const [cmd, ...args] = loops[n]();
    const outText = execFileSync(cmd, args, { encoding: 'utf8' });
    times[n].push(Number(outText.trim().split(' ')[0]));
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`rounds: ${rounds}; load before: ${loadBefore}; after: ${load()}`);
for (const n of names)
  console.log(
    `${n.padEnd(36)} median ${median(times[n]).toFixed(2)} ms  (all: ${times[n].map((x) => x.toFixed(1)).join(' ')})`,
  );
const ratio = (a, b) => (median(times[b]) / median(times[a])).toFixed(1);
console.log(
  `process: cloud-init / pxm = ${ratio('pxm render (process)', 'cloud-init net-convert (process)')}x`,
);
console.log(
  `in process: cloud-init / pxm = ${ratio('pxm parse+ENI (in process)', 'cloud-init parse+ENI (in process)')}x`,
);
rmSync(work, { recursive: true, force: true });
