#!/usr/bin/env node
// Extract benchmark: pxm's streamed HTTP extraction against `curl -s URL | tar -x` of
// the same ~300 MB rootfs-like tarball (gzip and zstd), served by nginx on loopback.
// The commands alternate (the order rotates every round), every run extracts into a
// fresh directory, nothing is deleted until all runs are done (a big rm makes the next
// extraction slow for minutes here), inputs are read once before timing, and dirty
// pages are synced (untimed) before each run. Prints medians and pxm/peer ratios.
//
// Usage: node bench/extract/run.mjs [ROUNDS]   (root; builds data under $PXM_CACHE_DIR)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 5);
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const data = execFileSync('bash', [path.join(here, 'build-data.sh')], { encoding: 'utf8' }).trim();
const work = mkdtempSync('/var/tmp/pxm-bench-extract-');
const bundle = path.join(work, 'pxm-extract.cjs');
await build({
  entryPoints: [path.join(here, 'pxm-extract.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'warning',
});

const port = await freePort();
const conf = path.join(work, 'nginx.conf');
writeFileSync(
  conf,
  `daemon off; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/nginx-error.log;
events {}
http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${data}; } }
`,
);
const nginx = spawn('nginx', ['-c', conf, '-p', work, '-e', `${work}/nginx-error.log`], {
  stdio: 'ignore',
});
const stopNginx = () => nginx.kill('SIGQUIT');
process.on('exit', stopNginx);
await waitPort(port);

const FLAGS = "-x --xattrs '--xattrs-include=*' --acls --numeric-owner -p --same-owner --sparse";
const url = (f) => `http://127.0.0.1:${port}/${f}`;
const commands = {
  'pxm gzip': (dir) => [process.execPath, bundle, url('root.tar.gz'), dir],
  'curl|tar gzip': (dir) => ['sh', '-c', `curl -sf ${url('root.tar.gz')} | tar -xpz -C ${dir}`],
  'pxm zstd': (dir) => [process.execPath, bundle, url('root.tar.zst'), dir],
  'curl|tar zstd': (dir) => [
    'sh',
    '-c',
    `curl -sf ${url('root.tar.zst')} | tar --zstd -xp -C ${dir}`,
  ],
  // The same tar work pxm asks for (curtin's flags + ACLs), to separate node's cost
  // from the cost of restoring xattrs and ACLs.
  'curl|tar+flags gzip': (dir) => [
    'sh',
    '-c',
    `curl -sf ${url('root.tar.gz')} | tar ${FLAGS} -z -C ${dir}`,
  ],
  'curl|tar+flags zstd': (dir) => [
    'sh',
    '-c',
    `curl -sf ${url('root.tar.zst')} | tar ${FLAGS} --zstd -C ${dir}`,
  ],
};
const names = Object.keys(commands);
const times = Object.fromEntries(names.map((n) => [n, []]));
// CPU seconds (user + sys of the command and its children): steadier than wall time
// when other work shares the cores. Needs GNU time (/usr/bin/time).
const cpu = Object.fromEntries(names.map((n) => [n, []]));
const haveTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0;
const cpuFile = path.join(work, 'cpu');
let seq = 0;
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length];
    for (const f of ['root.tar.gz', 'root.tar.zst']) readFileSync(path.join(data, f));
    spawnSync('sync');
    const dir = path.join(work, `t${seq++}`);
    mkdirSync(dir);
    const argv = commands[name](dir);
    const [cmd, ...args] = haveTime
      ? ['/usr/bin/time', '-f', '%U %S', '-o', cpuFile, ...argv]
      : argv;
    const t0 = process.hrtime.bigint();
    const res = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (res.status !== 0) throw new Error(`${name} failed: ${res.stderr}`);
    if (r === 0) {
      const n = execFileSync('sh', ['-c', `find ${dir} | wc -l`], { encoding: 'utf8' }).trim();
      process.stderr.write(`${name}: ${n} entries\n`);
    }
    times[name].push(s);
    if (haveTime) {
      const [u, sy] = readFileSync(cpuFile, 'utf8')
        .trim()
        .split('\n')
        .at(-1)
        .split(' ')
        .map(Number);
      cpu[name].push(u + sy);
    }
    process.stderr.write(`round ${r + 1} ${name}: ${s.toFixed(2)} s\n`);
  }
}
stopNginx();

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const size = (f) => readFileSync(path.join(data, f)).length;
console.log(
  `| compression | input MB | pxm median s | curl\\|tar median s | pxm / curl\\|tar | curl\\|tar with pxm's flags s | pxm / that | pxm CPU s | curl\\|tar CPU s | with flags CPU s |`,
);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
for (const [c, f] of [
  ['gzip', 'root.tar.gz'],
  ['zstd', 'root.tar.zst'],
]) {
  const p = med(times[`pxm ${c}`]);
  const q = med(times[`curl|tar ${c}`]);
  const w = med(times[`curl|tar+flags ${c}`]);
  const cm = (n) => (haveTime ? med(cpu[n]).toFixed(2) : 'n/a');
  console.log(
    `| ${c} | ${(size(f) / 1e6).toFixed(0)} | ${p.toFixed(2)} | ${q.toFixed(2)} | ${(p / q).toFixed(3)} | ${w.toFixed(2)} | ${(p / w).toFixed(3)} | ${cm(`pxm ${c}`)} | ${cm(`curl|tar ${c}`)} | ${cm(`curl|tar+flags ${c}`)} |`,
  );
}
const round3 = (k, v) => (typeof v === 'number' ? +v.toFixed(3) : v);
console.log(
  `\nrounds: ${rounds}; load before: ${loadBefore}; after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
);
console.log(`wall (s): ${JSON.stringify(times, round3)}`);
if (haveTime) console.log(`cpu (s): ${JSON.stringify(cpu, round3)}`);

// Deleting ~10 GB of small files takes minutes here: print the figures first.
process.stderr.write(`removing ${work}\n`);
rmSync(work, { recursive: true, force: true });

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(p) {
  for (let i = 0; i < 100; i++) {
    const ok =
      spawnSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${p}/done`]).status === 0;
    if (ok) return;
    await sleep(50);
  }
  throw new Error('nginx did not start');
}
