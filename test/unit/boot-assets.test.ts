// `pxm images import` / `list` as a user runs them (the built bundle), on temp data dirs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extraParamsFrom, type BootAssets } from '../../src/server/boot/assets.js';
import { capable, haveFile } from '../helpers/capability.js';
import { pxm } from '../helpers/pxm.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let dir: string;
let eph: string;

function image(dirName: string, manifestSha?: Record<string, string>): string {
  const d = path.join(dir, dirName);
  mkdirSync(d);
  const files = {
    vmlinuz: 'kernel bytes',
    'initrd.img': 'initrd bytes',
    'root.squashfs': 'squash bytes',
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(path.join(d, n), c);
  const shas =
    manifestSha ?? Object.fromEntries(Object.entries(files).map(([n, c]) => [n, sha(c)]));
  writeFileSync(
    path.join(d, 'manifest.json'),
    JSON.stringify({
      format: 'pxm-ephemeral/1',
      key: `k-${dirName}`,
      kernelParameters: 'boot=live fetch=FETCH_URL console=ttyS0,115200 panic=-1',
      files: Object.fromEntries(Object.entries(shas).map(([n, s]) => [n, { sha256: s, size: 1 }])),
    }),
  );
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-images-'));
  eph = image('good');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pxm images import/list', () => {
  it('imports an ephemeral image with checksums and lists it', async () => {
    const data = path.join(dir, 'data1');
    const r = await pxm([
      'images',
      'import',
      '--data-dir',
      data,
      '--ephemeral',
      eph,
      '--arch',
      'amd64',
    ]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const assets = JSON.parse(
      readFileSync(path.join(data, 'boot-assets.json'), 'utf8'),
    ) as BootAssets;
    const img = assets.images.amd64!;
    expect(img.kernel.path).toBe('images/amd64/k-good/vmlinuz');
    expect(img.squashfs.sha256).toBe(sha('squash bytes'));
    expect(img.extraParams).toBe('console=ttyS0,115200 panic=-1');
    expect(readFileSync(path.join(data, 'boot', img.initrd.path), 'utf8')).toBe('initrd bytes');
    const list = await pxm(['images', 'list', '--data-dir', data]);
    expect(list.stdout).toMatch(/squashfs\s+amd64\s+12\s+/);
    const json = JSON.parse(
      String((await pxm(['images', 'list', '--data-dir', data, '--json'])).stdout),
    ) as BootAssets;
    expect(Object.keys(json.images)).toEqual(['amd64']);
  });

  it('refuses an image whose files do not match its manifest and records nothing', async () => {
    const data = path.join(dir, 'data2');
    const bad = image('bad', {
      vmlinuz: sha('other'),
      'initrd.img': sha('x'),
      'root.squashfs': sha('y'),
    });
    const r = await pxm(['images', 'import', '--data-dir', data, '--ephemeral', bad]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('does not match the image manifest');
    expect(existsSync(path.join(data, 'boot-assets.json'))).toBe(false);
    expect(existsSync(path.join(data, 'boot', 'images', 'amd64', 'k-bad', 'vmlinuz'))).toBe(false);
  });

  it('validates --file names and sources before copying anything', async () => {
    const data = path.join(dir, 'data3');
    for (const [spec, msg] of [
      ['../evil=/etc/hostname', 'not a plain relative path'],
      ['pxelinux.cfg/default=/etc/hostname', 'reserved'],
      ['x.efi=/nonexistent', 'does not exist'],
      ['noequals', 'NAME=PATH'],
    ]) {
      const r = await pxm([
        'images',
        'import',
        '--data-dir',
        data,
        '--file',
        'ok.efi=/etc/hostname',
        '--file',
        spec!,
      ]);
      expect(r.exitCode).toBe(2);
      expect(String(r.stderr)).toContain(msg);
    }
    expect(existsSync(data)).toBe(false);
    const none = await pxm(['images', 'import', '--data-dir', data]);
    expect(none.exitCode).toBe(2);
  });

  it.runIf(capable(haveFile('/usr/lib/PXELINUX/lpxelinux.0'), "Debian's pxelinux"))(
    "imports Debian's installed bootloaders",
    async () => {
      const data = path.join(dir, 'data4');
      const r = await pxm(['images', 'import', '--data-dir', data, '--debian']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const assets = JSON.parse(
        readFileSync(path.join(data, 'boot-assets.json'), 'utf8'),
      ) as BootAssets;
      const l = assets.bootloaders['lpxelinux.0']!;
      expect(l.sha256).toBe(sha(readFileSync('/usr/lib/PXELINUX/lpxelinux.0')));
      expect(sha(readFileSync(path.join(data, 'boot', 'lpxelinux.0')))).toBe(l.sha256);
      expect(assets.bootloaders['ldlinux.c32']).toBeDefined();
    },
  );

  it('strips boot= and fetch= from manifest parameters', () => {
    expect(extraParamsFrom('boot=live fetch=FETCH_URL  console=tty0 panic=-1')).toBe(
      'console=tty0 panic=-1',
    );
  });
});
