// A packed installer doing a real `pxm install --target DIR` of a tarball made here:
// with the target's node, and with an embedded runtime on a PATH that has no node.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand } from '../helpers/capability.js';
import { pxm } from '../helpers/pxm.js';
import { SYSTEM_PATH, commandV, runInstaller, toolFarm } from './pack-harness.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-pack-install-'));
const empty = path.join(work, 'empty');
// Uncompressed: the sources module's gzip path fails on small archives today (reported);
// this test is about the installer, not about decompression.
const tarball = path.join(work, 'root.tar');
const config = path.join(work, 'install.yaml');
const noNode = path.join(work, 'farm-nonode');
const noNodeNoXz = path.join(work, 'farm-nonode-noxz');

const ready = capable(
  all(haveCommand('tar'), haveCommand('xz'), haveCommand('busybox')),
  'pack install tests',
);

beforeAll(() => {
  mkdirSync(empty);
  // The "image": a small root tree as a tarball.
  const root = path.join(work, 'rootfs');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  writeFileSync(path.join(root, 'etc/hostname'), 'packed-host\n');
  writeFileSync(path.join(root, 'usr/bin/hello'), '#!/bin/sh\necho hello\n');
  chmodSync(path.join(root, 'usr/bin/hello'), 0o755);
  execFileSync('tar', ['-C', root, '-cf', tarball, '.']);
  // write_files and late_commands prove the packed pxm ran the stages, not just tar.
  writeFileSync(
    config,
    [
      'write_files:',
      '  stamp:',
      '    path: /etc/pxm-packed',
      '    content: "installed by a pxm pack installer\\n"',
      'late_commands:',
      '  10_marker: \'echo "stack=$CURTIN_REPORTSTACK" > "$TARGET_MOUNT_POINT/late-marker"\'',
      '',
    ].join('\n'),
  );
  toolFarm(noNode, /^node/);
  toolFarm(noNodeNoXz, /^(node.*|xz.*|unxz|lzma.*|unlzma)$/);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function expectInstalled(target: string): void {
  expect(readFileSync(path.join(target, 'etc/hostname'), 'utf8')).toBe('packed-host\n');
  expect(statSync(path.join(target, 'usr/bin/hello')).mode & 0o777).toBe(0o755);
  expect(readFileSync(path.join(target, 'etc/pxm-packed'), 'utf8')).toBe(
    'installed by a pxm pack installer\n',
  );
  expect(readFileSync(path.join(target, 'late-marker'), 'utf8')).toBe(
    'stack=cmd-install/stage-late/10_marker\n',
  );
}

describe.skipIf(!ready)('packed pxm install', () => {
  it("with the target's node: default command, tarball and --target as arguments", async () => {
    const installer = path.join(work, 'plain.sh');
    const p = await pxm(['pack', '-o', installer, '--config', config]);
    expect(p.exitCode).toBe(0);
    const target = path.join(work, 'target-plain');
    const r = await runInstaller(installer, ['--target', target, tarball], {
      cwd: empty,
      path: SYSTEM_PATH,
    });
    expect(r.stderr).not.toMatch(/install failed/);
    expect(r.exitCode).toBe(0);
    expectInstalled(target);
  });

  describe('with an embedded runtime and no node on PATH', () => {
    const installer = path.join(work, 'with-node.sh');
    beforeAll(async () => {
      // The tarball travels inside the installer; $PXM_DIR points at the unpacked files.
      const p = await pxm(
        [
          'pack',
          '-o',
          installer,
          '--with-node',
          '--config',
          config,
          '--add',
          `${tarball}:image/root.tar`,
          '--',
          'sh',
          '-c',
          'exec pxm install --config "$PXM_DIR/configs/01-install.yaml" "$@" "$PXM_DIR/image/root.tar"',
          'packed',
        ],
        { timeout: 900_000 },
      );
      expect(p.stderr).toBe('');
      expect(p.exitCode).toBe(0);
    }, 900_000);

    it('really has no node on that PATH', async () => {
      expect(await commandV('node', noNode)).toBe('');
      expect(await commandV('sha256sum', noNode)).not.toBe('');
    });

    it('is under 30 MB and says it carries an xz-compressed, stripped runtime', async () => {
      expect(statSync(installer).size).toBeLessThan(30 * 1024 * 1024);
      const r = await runInstaller(installer, ['info'], {
        cwd: empty,
        path: noNode,
        shell: ['busybox', 'sh'],
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^runtime: +node v\d+\.\d+\.\d+, stripped, xz-compressed/m);
      expect(r.stdout).toMatch(/runtime\/node\.xz$/m);
      expect(r.stdout).toMatch(/image\/root\.tar$/m);
    });

    it('installs the packed tarball into --target with the embedded node (dash)', async () => {
      const target = path.join(work, 'target-with-node');
      const r = await runInstaller(installer, ['--target', target], {
        cwd: empty,
        path: noNode,
        shell: ['dash'],
      });
      expect(r.stderr).not.toMatch(/install failed/);
      expect(r.exitCode).toBe(0);
      expectInstalled(target);
    });

    it('--no-execute under busybox sh unpacks a runnable node', async () => {
      const r = await runInstaller(installer, ['--no-execute'], {
        cwd: empty,
        path: noNode,
        shell: ['busybox', 'sh'],
      });
      expect(r.exitCode).toBe(0);
      const dir = /^unpacked into (.+)$/m.exec(r.stdout)?.[1] ?? '';
      try {
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        const v = execFileSync(path.join(dir, 'bin/node'), ['--version'], { encoding: 'utf8' });
        expect(v.trim()).toBe(process.version);
        expect(existsSync(path.join(dir, 'runtime'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('on a target without xz: a clear message naming the fix', async () => {
      expect(await commandV('xz', noNodeNoXz)).toBe('');
      expect(await commandV('unxz', noNodeNoXz)).toBe('');
      const tmp = mkdtempSync(path.join(work, 'tmp-'));
      const r = await runInstaller(installer, ['--target', path.join(work, 'never')], {
        cwd: empty,
        path: noNodeNoXz,
        env: { TMPDIR: tmp },
      });
      expect(r.exitCode).toBe(69);
      expect(r.stderr).toContain('neither xz nor unxz');
      expect(r.stderr).toContain('--node-compression gzip');
      expect(existsSync(path.join(work, 'never'))).toBe(false);
      expect(execFileSync('ls', ['-A', tmp], { encoding: 'utf8' })).toBe('');
    });
  });

  it('a gzip-compressed runtime runs where xz is missing', { timeout: 900_000 }, async () => {
    const installer = path.join(work, 'with-node-gzip.sh');
    const p = await pxm(
      ['pack', '-o', installer, '--with-node', '--node-compression', 'gzip', '--config', config],
      {
        timeout: 900_000,
      },
    );
    expect(p.exitCode).toBe(0);
    const info = await runInstaller(installer, ['info'], { cwd: empty, path: noNodeNoXz });
    expect(info.stdout).toMatch(/^runtime: +node v\S+, stripped, gzip-compressed/m);
    const target = path.join(work, 'target-gzip');
    const r = await runInstaller(installer, ['--target', target, tarball], {
      cwd: empty,
      path: noNodeNoXz,
    });
    expect(r.stderr).not.toMatch(/install failed/);
    expect(r.exitCode).toBe(0);
    expectInstalled(target);
  });
});
