#!/usr/bin/env node
// Damage sweep (an exploration, not a timing): packs an installer whose command
// creates a marker file, then flips one bit at every byte of its sh head, runs each
// variant and reports every variant that ran the command or exited 0.
// See docs/pack.md ("Integrity"). About 15 minutes for ~9,600 variants here.
//
// Usage: node bench/pack/flip-sweep.mjs [SHELL=dash] [MASK=1]   (needs dist/pxm.cjs)
import { Buffer } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shell = process.argv[2] ?? 'dash';
const mask = Number(process.argv[3] ?? 1);
const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-flip-sweep-'));
try {
  const marker = path.join(work, 'MARKER');
  const installer = path.join(work, 'i.sh');
  execFileSync(process.execPath, [
    path.join(root, 'dist/pxm.cjs'),
    'pack',
    '-o',
    installer,
    '--',
    'sh',
    '-c',
    `touch ${marker}; exit 7`,
  ]);
  const src = readFileSync(installer);
  const offset = Number(
    /^PXM_PAYLOAD_OFFSET=(\d+)$/m.exec(src.subarray(0, 20000).toString('latin1'))[1],
  );
  const variant = path.join(work, 'v.sh');
  const bad = [];
  for (let pos = 0; pos < offset; pos++) {
    const b = Buffer.from(src);
    b[pos] ^= mask;
    writeFileSync(variant, b);
    const r = spawnSync(shell, [variant], {
      cwd: work,
      timeout: 20_000,
      env: { PATH: process.env.PATH, TMPDIR: work },
    });
    const ran = existsSync(marker);
    if (ran) rmSync(marker);
    if (ran || r.status === 0) {
      bad.push({
        pos,
        status: r.status,
        ran,
        context: JSON.stringify(src.subarray(Math.max(0, pos - 15), pos + 15).toString('latin1')),
      });
    }
  }
  console.log(
    JSON.stringify({
      shell,
      mask,
      variants: offset,
      ranCommand: bad.filter((x) => x.ran).length,
      exitedZero: bad.filter((x) => x.status === 0).length,
    }),
  );
  for (const x of bad) console.log(JSON.stringify(x));
} finally {
  rmSync(work, { recursive: true, force: true });
}
