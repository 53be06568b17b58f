// The image builder's failure paths on the host: a build that fails inside the chroot
// leaves no mount and no work directory behind; bad invocations fail before anything runs.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { bundlePath, pxm } from '../helpers/pxm.js';
import { Runner } from '../../src/runner/runner.js';
import { Reporter } from '../../src/report/events.js';
import { mountsUnder, withChrootMounts } from '../../src/images/chroot.js';
import { buildEphemeralImage, imageDirFor } from '../../src/images/build.js';
import { resolveInputs } from '../../src/images/inputs.js';
import { defaultMirror } from '../../src/images/apt-sources.js';
import { CommandFailedError } from '../../src/util/errors.js';

const root = capable(haveRoot(), 'image builder mount tests');
const build = capable(all(haveRoot(), haveCommand('debootstrap')), 'image builder failure test');

describe.skipIf(!root)('chroot mounts', () => {
  it('are all gone after the step inside fails, also mounts made inside them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pxm-chroot-'));
    const host = await mkdtemp(path.join(os.tmpdir(), 'pxm-bind-'));
    try {
      for (const d of ['proc', 'sys', 'dev', 'var/cache/apt/archives'])
        await mkdir(path.join(dir, d), { recursive: true });
      const runner = new Runner();
      let inside: string[] = [];
      const err = await withChrootMounts(
        runner,
        dir,
        [{ source: host, target: 'var/cache/apt/archives' }],
        async () => {
          // A package script might mount something below the chroot's /dev: also undone.
          await runner.run({ argv: ['mount', '-t', 'tmpfs', 'tmpfs', path.join(dir, 'dev/shm')] });
          inside = await mountsUnder(dir);
          throw new Error('step failed on purpose');
        },
      ).catch((e: unknown) => e);
      expect(String(err)).toContain('step failed on purpose');
      expect(inside.map((p) => path.relative(dir, p)).sort()).toEqual(
        ['dev', 'dev/pts', 'dev/shm', 'proc', 'sys', 'var/cache/apt/archives'].sort(),
      );
      expect(await mountsUnder(dir)).toEqual([]);
    } finally {
      for (const p of await mountsUnder(dir)) await execa('umount', ['-l', p], { reject: false });
      await rm(dir, { recursive: true, force: true });
      await rm(host, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!build)('a failing image build', () => {
  it(
    'fails with the failing command and leaves no mounts, work dir or image',
    async () => {
      const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'pxm-imgcache-'));
      try {
        const mirror = await defaultMirror();
        const inputs = resolveInputs({
          suite: 'bookworm',
          mirror: mirror ?? 'http://deb.debian.org/debian',
          extraPackages: ['pxm-no-such-package'],
          compression: 'zstd',
          nodeVersion: process.version,
        });
        const events: string[] = [];
        const reporter = new Reporter([
          {
            publish: (e) => void events.push(`${e.event_type} ${e.name} ${e.result ?? ''}`.trim()),
          },
        ]);
        const err = await buildEphemeralImage({
          inputs,
          cacheDir,
          bundlePath,
          nodeBinary: process.execPath,
          runner: new Runner(),
          stack: reporter.stack('build', 'test build'),
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CommandFailedError);
        expect((err as CommandFailedError).argv).toContain('pxm-no-such-package');
        expect(events).toContain('finish build/root/packages FAIL');
        expect(await mountsUnder(cacheDir)).toEqual([]);
        expect(await readdir(path.join(cacheDir, 'work'))).toEqual([]);
        expect(existsSync(imageDirFor(cacheDir, inputs))).toBe(false);
        expect(existsSync(path.join(cacheDir, 'roots'))).toBe(false);
      } finally {
        for (const p of await mountsUnder(cacheDir))
          await execa('umount', ['-l', p], { reject: false });
        await rm(cacheDir, { recursive: true, force: true });
      }
    },
    15 * 60_000,
  );
});

describe.skipIf(!root)('pxm images build-ephemeral input checks', () => {
  it('refuses to run without root', async () => {
    const r = await execa(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        bundlePath,
        'images',
        'build-ephemeral',
        '--cache-dir',
        os.tmpdir(),
      ],
      { reject: false },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/needs root/);
  });

  it('names the bad flag and exits 2', async () => {
    const r = await pxm([
      'images',
      'build-ephemeral',
      '--package',
      'bad;name',
      '--mirror',
      'http://x.example/debian',
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--package: "bad;name" is not a Debian package name/);
    const m = await pxm(['images', 'build-ephemeral', '--mirror', 'nope']);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/--mirror/);
  });
});
