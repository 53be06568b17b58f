// Payload inputs: path confinement, config checks, ordering, reproducible gzip.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addEntries,
  archivePath,
  configEntries,
  finishEntries,
  gzipReproducible,
  parseAddFlag,
  payloadArchive,
} from '../../src/pack/payload.js';
import { ValidationError } from '../../src/util/errors.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-pack-payload-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('archivePath', () => {
  it('normalises relative destinations', () => {
    expect(archivePath('./a//b/', 'x')).toBe('a/b');
    expect(archivePath('a/../b', 'x')).toBe('b');
  });

  it.each([
    ['/etc/passwd', /relative/],
    ['../up', /inside/],
    ['a/../../up', /inside/],
    ['.', /inside/],
    ['pxm.cjs', /reserved/],
    ['bin/pxm', /reserved/],
    ['configs/x.yaml', /reserved/],
    ['runtime/node.xz', /reserved/],
    ['a\nb', /control/],
  ])('refuses %j, naming the flag', (dest, why) => {
    expect(() => archivePath(dest, `--add src:${dest}`)).toThrow(why);
    try {
      archivePath(dest, '--add src:dest');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).where).toBe('--add src:dest');
    }
  });
});

describe('parseAddFlag', () => {
  it('splits at the last colon and defaults DEST to the base name', () => {
    expect(parseAddFlag('/x/y.tgz:img/root.tgz')).toEqual({
      src: '/x/y.tgz',
      dest: 'img/root.tgz',
    });
    expect(parseAddFlag('/x/y.tgz')).toEqual({ src: '/x/y.tgz', dest: 'y.tgz' });
    expect(() => parseAddFlag('/x/y.tgz:')).toThrow(/SRC:DEST/);
  });
});

describe('configEntries', () => {
  it('numbers configs in the given order, mode 0600, from files and from content', async () => {
    const f = path.join(work, 'base.yaml');
    writeFileSync(f, 'install: {unmount: disabled}\n');
    const out = await configEntries([
      f,
      { name: 'node 7.yaml', content: { sources: { '00': 'cp:///' } } },
    ]);
    expect(out.map((e) => e.path)).toEqual(['configs/01-base.yaml', 'configs/02-node_7.yaml']);
    expect(out.every((e) => e.kind === 'file' && e.mode === 0o600)).toBe(true);
    const second = out[1];
    expect(second?.kind === 'file' && JSON.parse(second.data.toString()).sources['00']).toBe(
      'cp:///',
    );
  });

  it('names the file whose top level is not a mapping, or that is not YAML', async () => {
    const list = path.join(work, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    await expect(configEntries([list])).rejects.toThrow(
      `${list}: top level of a config must be a mapping`,
    );
    const broken = path.join(work, 'broken.yaml');
    writeFileSync(broken, 'a: [1, 2\n');
    await expect(configEntries([broken])).rejects.toThrow(`${broken}: not valid YAML`);
    await expect(configEntries([path.join(work, 'missing.yaml')])).rejects.toThrow(
      /missing\.yaml: cannot read config/,
    );
  });
});

describe('addEntries + finishEntries', () => {
  it('walks directories in name order, keeps modes, adds parents, sorts by path bytes', async () => {
    const src = path.join(work, 'tree');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'z.sh'), '#!/bin/sh\n');
    chmodSync(path.join(src, 'z.sh'), 0o755);
    writeFileSync(path.join(src, 'sub', 'a.txt'), 'a');
    const added = await addEntries([
      { src, dest: 'files/tree' },
      { dest: 'files-extra/note', content: 'hi' },
    ]);
    const all = finishEntries(added);
    expect(all.map((e) => e.path)).toEqual([
      'files',
      'files-extra',
      'files-extra/note',
      'files/tree',
      'files/tree/sub',
      'files/tree/sub/a.txt',
      'files/tree/z.sh',
    ]);
    const script = all.find((e) => e.path === 'files/tree/z.sh');
    expect(script?.kind === 'file' && script.mode).toBe(0o755);
  });

  it('refuses two entries with the same destination', () => {
    const f = { kind: 'file' as const, path: 'a', mode: 0o644, data: Buffer.from('') };
    expect(() => finishEntries([f, f])).toThrow(/a: packed twice/);
  });

  it('refuses a missing --add source, naming the flag', async () => {
    await expect(addEntries([{ src: path.join(work, 'nope'), dest: 'nope' }])).rejects.toThrow(
      /^--add .*nope:nope: cannot read/,
    );
  });
});

describe('gzipReproducible', () => {
  it('writes mtime 0 and OS byte 3 and round-trips', () => {
    const data = Buffer.from('payload '.repeat(100));
    const gz = gzipReproducible(data);
    expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    expect(gz.readUInt32LE(4)).toBe(0);
    expect(gz[9]).toBe(3);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect(gzipReproducible(data).equals(gz)).toBe(true);
  });
});

describe('payloadArchive', () => {
  it('is one tar archive across gzip members, the precompressed entry stored', async () => {
    const { gunzipSync: gunzip } = await import('node:zlib');
    const { execFileSync } = await import('node:child_process');
    const big = Buffer.alloc(200_000, 7);
    const entries = finishEntries([
      { kind: 'file', path: 'a.txt', mode: 0o644, data: Buffer.from('a'.repeat(5000)) },
      { kind: 'file', path: 'runtime/node.xz', mode: 0o644, data: big },
      { kind: 'file', path: 'z.txt', mode: 0o644, data: Buffer.from('z') },
    ]);
    const gz = payloadArchive(entries, (e) => e.path.startsWith('runtime/'));
    // stored: the big entry is not deflated, the text is
    expect(gz.length).toBeGreaterThan(200_000);
    expect(gz.length).toBeLessThan(200_000 + 10_000);
    const tar = gunzip(gz);
    expect(tar.length % 10240).toBe(0);
    const file = path.join(work, 'multi.tar.gz');
    writeFileSync(file, gz);
    for (const argv of [['gzip'], ['busybox', 'gzip']]) {
      const out = execFileSync('sh', ['-c', `${argv.join(' ')} -dc < ${file} | tar -tf -`], {
        encoding: 'utf8',
      });
      expect(out.trim().split('\n')).toEqual(['a.txt', 'runtime/', 'runtime/node.xz', 'z.txt']);
    }
    expect(payloadArchive(entries, (e) => e.path.startsWith('runtime/')).equals(gz)).toBe(true);
  });
});
