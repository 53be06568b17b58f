// The payload's tar writer: what GNU tar and busybox tar make of it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capable, haveCommand } from '../helpers/capability.js';
import { splitUstarName, writeUstar, type TarEntry } from '../../src/pack/ustar.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-pack-ustar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const longPath = `${'deep/'.repeat(30)}file.txt`; // 154 bytes: needs the prefix field
const entries: TarEntry[] = [
  { kind: 'dir', path: 'conf', mode: 0o700 },
  { kind: 'file', path: 'conf/a.yaml', mode: 0o600, data: Buffer.from('a: 1\n') },
  { kind: 'file', path: 'run.sh', mode: 0o755, data: Buffer.alloc(1500, 0x41) },
  { kind: 'symlink', path: 'link', target: 'run.sh' },
  { kind: 'file', path: longPath, mode: 0o644, data: Buffer.from('deep\n') },
];

describe('writeUstar', () => {
  const tar = writeUstar(entries);

  it('is a whole number of 10 KiB records and the same bytes every time', () => {
    expect(tar.length % 10240).toBe(0);
    expect(writeUstar(entries).equals(tar)).toBe(true);
  });

  it('lists with GNU tar as root-owned entries with a fixed mtime', () => {
    const file = path.join(work, 'list.tar');
    writeFileSync(file, tar);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/ 0\/0 .* 1970-01-01 00:00 /);
    expect(lines[0]).toMatch(/^drwx------ .* conf\/$/);
    expect(lines[1]).toMatch(/^-rw------- .* 5 .* conf\/a\.yaml$/);
    expect(lines[3]).toMatch(/^lrwxrwxrwx .* link -> run\.sh$/);
    expect(lines[4]).toContain(longPath);
  });

  for (const [name, argv] of [
    ['GNU tar', ['tar']],
    ['busybox tar', ['busybox', 'tar']],
  ] as const) {
    it(`extracts with ${name}: contents, modes, symlink, long name`, () => {
      if (!capable(haveCommand(argv[0]), name)) return;
      const dir = mkdtempSync(path.join(work, 'x-'));
      const file = path.join(dir, 'p.tar');
      writeFileSync(file, tar);
      execFileSync(argv[0], [...argv.slice(1), '-xf', 'p.tar'], { cwd: dir });
      expect(readFileSync(path.join(dir, 'conf/a.yaml'), 'utf8')).toBe('a: 1\n');
      expect(statSync(path.join(dir, 'conf')).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
      expect(readFileSync(path.join(dir, 'run.sh')).equals(Buffer.alloc(1500, 0x41))).toBe(true);
      expect(readlinkSync(path.join(dir, 'link'))).toBe('run.sh');
      expect(readFileSync(path.join(dir, longPath), 'utf8')).toBe('deep\n');
    });
  }
});

describe('splitUstarName', () => {
  it('keeps short names whole and splits long ones at a slash', () => {
    expect(splitUstarName('a/b')).toEqual({ prefix: '', name: 'a/b' });
    const { prefix, name } = splitUstarName(longPath);
    expect(`${prefix}/${name}`).toBe(longPath);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(100);
  });

  it('refuses a name that cannot be split into 155 + 100 bytes', () => {
    expect(() => splitUstarName('x'.repeat(101))).toThrow(/too long/);
    expect(() => splitUstarName(`${'y'.repeat(160)}/z`)).toThrow(/too long/);
  });
});
