// Bad configs are refused before any disk is touched (the backing file's sha256 is the
// same afterwards), and a run that dies midway leaves no mounts behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import {
  attachLoop,
  blkid,
  cleanupAllLoops,
  loopsBackedBy,
  mountsUnder,
  run,
  sha256File,
  tempDir,
  type LoopDevice,
} from '../helpers/loopdev.js';
import { pxm } from '../helpers/pxm.js';

const MiB = 1024 * 1024;
const ok = capable(
  all(haveRoot(), ...['losetup', 'sfdisk', 'partx', 'mkfs.ext4', 'blkid'].map(haveCommand)),
  'storage failure integration',
);

describe.skipIf(!ok)('pxm block-meta refuses bad configs and cleans up failures', () => {
  let dir: string;
  let d: LoopDevice;
  const files: string[] = [];
  let seq = 0;
  beforeAll(() => {
    dir = tempDir('pxm-storage-fail-');
    // A disk with content worth protecting: a table and a filesystem.
    d = attachLoop(dir, 'victim', 64 * MiB);
    files.push(d.file);
    run('sfdisk', ['--quiet', d.dev], 'label: gpt\nstart=2048, size=65536\n');
    run('partx', ['-a', d.dev]);
    run('mkfs.ext4', ['-q', '-F', '-L', 'precious', `${d.dev}p1`]);
  });
  afterAll(() => {
    cleanupAllLoops();
    for (const f of files) expect(loopsBackedBy(f)).toEqual([]);
  });

  function configFile(storage: unknown): string {
    const f = path.join(dir, `cfg${++seq}.yaml`);
    writeFileSync(f, stringify({ storage }));
    return f;
  }
  /** A wipe of the victim disk comes first: a tool that does not validate first would run it. */
  const victim = () => ({
    id: 'disk0',
    type: 'disk',
    path: d.dev,
    ptable: 'gpt',
    wipe: 'superblock',
  });
  const v1 = (...actions: unknown[]) => ({ version: 1, config: [victim(), ...actions] });
  const part = (id: string, size = '16M', extra: object = {}) => ({
    id,
    type: 'partition',
    device: 'disk0',
    size,
    ...extra,
  });

  const cases: [string, () => unknown, string][] = [
    [
      'a reference to a missing action',
      () => v1(part('p1'), { id: 'p2', type: 'partition', device: 'disk9', size: '1M' }),
      "action 'p2': device refers to 'disk9', which does not exist",
    ],
    ['a duplicate id', () => v1(part('p1'), part('p1')), "action 'p1': duplicate id"],
    [
      'an unknown action type',
      () => v1({ id: 'z', type: 'zpool' }),
      `action 'z': unknown type "zpool"`,
    ],
    [
      'a field of the wrong type',
      () => v1(part('p1', 'big')),
      "action 'p1': size must be a size such as 512M or 10G",
    ],
    [
      'a partition that does not fit',
      () => v1(part('p1', '40M'), part('p2', '23M')),
      "action 'p2': partition does not fit on disk 'disk0'",
    ],
    [
      'overlapping partition numbers',
      () => v1(part('p1', '8M', { number: 2 }), part('p2', '8M', { number: 2 })),
      "action 'p2': partition number 2 on disk 'disk0' is already used by 'p1'",
    ],
    [
      'two mounts on one path',
      () =>
        v1(
          part('p1'),
          part('p2'),
          { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
          { id: 'f2', type: 'format', volume: 'p2', fstype: 'ext4' },
          { id: 'm1', type: 'mount', device: 'f1', path: '/' },
          { id: 'm2', type: 'mount', device: 'f2', path: '/' },
        ),
      "action 'm2': path / is already mounted by 'm1'",
    ],
    [
      'a format on a volume that does not exist',
      () => v1({ id: 'f', type: 'format', volume: 'p7', fstype: 'ext4' }),
      "action 'f': format on volume 'p7', which does not exist",
    ],
    [
      'a disk that matches no device',
      () => ({
        version: 1,
        config: [
          victim(),
          { id: 'other', type: 'disk', path: '/dev/pxm-no-such-disk', wipe: 'zero' },
        ],
      }),
      "action 'other': disk (path=/dev/pxm-no-such-disk) matches no block device",
    ],
    [
      'a disk that matches nothing by serial',
      () => ({ version: 1, config: [victim(), { id: 's', type: 'disk', serial: 'PXM-NOT-HERE' }] }),
      "action 's': disk (serial=PXM-NOT-HERE) matches no block device",
    ],
    [
      'a layout with no disk named',
      () => ({ layout: { name: 'simple' } }),
      'storage.layout.disk: no disk named',
    ],
  ];

  it.each(cases)(
    'refuses %s, naming it, with the disk bytes unchanged',
    async (_what, storage, message) => {
      const before = await sha256File(d.file);
      const r = await pxm([
        'block-meta',
        'custom',
        '-c',
        configFile(storage()),
        '-t',
        path.join(dir, 'never'),
      ]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain('no disk was touched');
      expect(r.stdout).toBe('');
      expect(await sha256File(d.file)).toBe(before);
      expect(blkid(`${d.dev}p1`).LABEL).toBe('precious');
    },
  );

  it('reports every problem of a config at once', async () => {
    const before = await sha256File(d.file);
    const r = await pxm([
      'block-meta',
      '-c',
      configFile(
        v1(part('p1', 'huge'), part('p1'), {
          id: 'f',
          type: 'format',
          volume: 'nope',
          fstype: 'ntfs',
        }),
      ),
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('3 problems');
    expect(r.stderr).toContain("action 'p1': size must be a size");
    expect(r.stderr).toContain("action 'p1': duplicate id");
    expect(r.stderr).toContain("action 'f': fstype must be one of");
    expect(await sha256File(d.file)).toBe(before);
  });

  /** A directory with fake tools that go first on PATH. */
  function fakeTools(tools: Record<string, string>): string {
    const bin = path.join(dir, `bin${++seq}`);
    mkdirSync(bin);
    for (const [name, body] of Object.entries(tools)) {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    }
    return bin;
  }

  function fullConfig(disk: LoopDevice): string {
    return configFile({
      version: 1,
      config: [
        { id: 'd', type: 'disk', path: disk.dev, ptable: 'gpt' },
        { id: 'p1', type: 'partition', device: 'd', size: '16M' },
        { id: 'p2', type: 'partition', device: 'd', size: '16M' },
        { id: 'p3', type: 'partition', device: 'd', size: '16M' },
        { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
        { id: 'f2', type: 'format', volume: 'p2', fstype: 'ext4' },
        { id: 'f3', type: 'format', volume: 'p3', fstype: 'ext4' },
        { id: 'm3', type: 'mount', device: 'f3', path: '/srv' },
        { id: 'm1', type: 'mount', device: 'f1', path: '/' },
        { id: 'm2', type: 'mount', device: 'f2', path: '/home' },
      ],
    });
  }

  it('a step killed midway (SIGKILL) leaves no mounts behind', async () => {
    const disk = attachLoop(dir, 'killed', 64 * MiB);
    files.push(disk.file);
    const target = path.join(dir, 'target-kill');
    const pidFile = path.join(dir, 'mount.pid');
    // The third mount (/srv) hangs until killed; the first two really mount.
    const bin = fakeTools({
      mount: `for a; do last=$a; done\ncase "$last" in */srv) echo $$ > "${pidFile}"; exec sleep 120;; esac\nexec /usr/bin/mount "$@"`,
    });
    try {
      const child = pxm(['block-meta', '-c', fullConfig(disk), '-t', target], {
        env: { PATH: `${bin}:${process.env.PATH}` },
      });
      let finished = false;
      void child.then(() => (finished = true));
      while (!finished && (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '')) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // pxm must still be waiting on the hung mount; if it ended, show why.
      expect(
        finished,
        String((await Promise.race([child, Promise.resolve(undefined)]))?.stderr ?? ''),
      ).toBe(false);
      // Both mounts before the hung one are in place at this moment.
      expect(mountsUnder(target).sort()).toEqual([target, `${target}/home`]);
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      const r = await child;
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /mount .*p3 at \/srv failed: .*killed by SIGKILL; everything it had set up was torn down/,
      );
      expect(mountsUnder(target)).toEqual([]);
    } finally {
      for (const m of mountsUnder(target)) run('umount', [m]);
    }
  });

  it('a failing mkfs stops the run with the step named and nothing mounted', async () => {
    const disk = attachLoop(dir, 'mkfsfail', 64 * MiB);
    files.push(disk.file);
    const target = path.join(dir, 'target-mkfs');
    const bin = fakeTools({
      'mkfs.ext4': `case "$*" in *p2) echo "simulated disk error" >&2; exit 1;; esac\nexec /usr/sbin/mkfs.ext4 "$@"`,
    });
    const r = await pxm(['block-meta', '-c', fullConfig(disk), '-t', target], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`storage: make an ext4 filesystem on ${disk.dev}p2 failed`);
    expect(r.stderr).toContain('simulated disk error');
    expect(mountsUnder(target)).toEqual([]);
  });

  it('says what is left when teardown itself fails', async () => {
    const disk = attachLoop(dir, 'stuck', 64 * MiB);
    files.push(disk.file);
    const target = path.join(dir, 'target-stuck');
    const bin = fakeTools({
      // The /home mount fails; unmounting / "fails" too, so teardown cannot finish.
      mount: `for a; do last=$a; done\ncase "$last" in */home) echo "no such luck" >&2; exit 32;; esac\nexec /usr/bin/mount "$@"`,
      umount: `echo "target is busy" >&2; exit 32`,
    });
    try {
      const r = await pxm(['block-meta', '-c', fullConfig(disk), '-t', target], {
        env: { PATH: `${bin}:${process.env.PATH}` },
      });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(
        `teardown failed, left behind: mounted at ${target} (umount ${target}: target is busy)`,
      );
      expect(mountsUnder(target)).toEqual([target]);
    } finally {
      for (const m of mountsUnder(target)) run('umount', [m]);
    }
  });
});
