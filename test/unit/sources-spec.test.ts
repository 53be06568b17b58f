// Source specs as curtin writes them, and compression sniffing from content.
import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import {
  parseSources,
  parseSourceString,
  detectCompression,
  displayUri,
} from '../../src/sources/index.js';
import { ValidationError } from '../../src/util/errors.js';
import { capable, all, haveCommand } from '../helpers/capability.js';

const SUM = 'ab'.repeat(32);

describe('parseSources', () => {
  it('understands every curtin prefix and location form', () => {
    const cases: [string, string, unknown][] = [
      ['/srv/root.tar.xz', 'tgz', { kind: 'file', path: '/srv/root.tar.xz' }],
      ['file:///srv/root.tgz', 'tgz', { kind: 'file', path: '/srv/root.tgz' }],
      [
        'http://10.0.0.1:5248/images/root-tgz',
        'tgz',
        { kind: 'http', url: 'http://10.0.0.1:5248/images/root-tgz' },
      ],
      ['tgz:https://h/r.tgz', 'tgz', { kind: 'http', url: 'https://h/r.tgz' }],
      ['tbz:/srv/r.tbz', 'tbz', { kind: 'file', path: '/srv/r.tbz' }],
      ['txz:http://h/r.txz', 'txz', { kind: 'http', url: 'http://h/r.txz' }],
      ['dd-tgz:http://h/disk.tgz', 'dd-tgz', { kind: 'http', url: 'http://h/disk.tgz' }],
      ['dd-txz:/d.txz', 'dd-txz', { kind: 'file', path: '/d.txz' }],
      ['dd-raw:http://h/disk.img', 'dd-raw', { kind: 'http', url: 'http://h/disk.img' }],
      [
        'fsimage:http://h/root.squashfs',
        'fsimage',
        { kind: 'http', url: 'http://h/root.squashfs' },
      ],
      ['squashfs:///srv/r.sq', 'fsimage', { kind: 'file', path: '/srv/r.sq' }],
      [
        'http://h/filesystem.squashfs',
        'fsimage',
        { kind: 'http', url: 'http://h/filesystem.squashfs' },
      ],
      ['cp:///srv/unpacked', 'cp', { kind: 'dir', path: '/srv/unpacked' }],
    ];
    for (const [raw, type, location] of cases) {
      expect(parseSourceString(raw, 'k'), raw).toMatchObject({ key: 'k', type, location });
    }
  });

  it('runs mapping entries in sorted key order and skips disabled ones', () => {
    const specs = parseSources({
      '9_late': '/b.tgz',
      '10_root': '/a.tgz',
      '20_off': null,
      '05_x': { uri: '/c.tgz', type: 'txz' },
    });
    expect(specs.map((s) => [s.key, s.type])).toEqual([
      ['05_x', 'txz'],
      ['10_root', 'tgz'],
      ['9_late', 'tgz'],
    ]);
    expect(parseSources(['/a', '/b']).map((s) => s.key)).toEqual(['0', '1']);
    expect(parseSources('/one.tgz')).toHaveLength(1);
  });

  it('takes a sha256 from the mapping form or a #sha256= fragment', () => {
    expect(
      parseSources({ r: { uri: 'http://h/r.tgz', sha256: SUM.toUpperCase() } })[0]?.sha256,
    ).toBe(SUM);
    expect(parseSources({ r: { uri: '/r', sha256: `sha256:${SUM}` } })[0]?.sha256).toBe(SUM);
    const s = parseSourceString(`http://h/r.tgz#sha256=${SUM}`, 'r');
    expect(s).toMatchObject({ sha256: SUM, location: { kind: 'http', url: 'http://h/r.tgz' } });
  });

  it('names the key path of bad entries', () => {
    const bad: [unknown, RegExp][] = [
      [{ r: { uri: '/x', sha256: 'abc' } }, /^sources\/r\/sha256: sha256 must be 64 hex digits/],
      [{ r: { uri: '/x', type: 'zip' } }, /^sources\/r\/type: expected one of tgz/],
      [{ r: { url: '/x' } }, /^sources\/r\/url: unknown key/],
      [{ r: { type: 'tgz' } }, /^sources\/r\/uri: expected a non-empty string/],
      [{ r: 'ftp://h/r.tgz' }, /^sources\/r: unsupported URL scheme ftp:\/\//],
      [{ r: 42 }, /^sources\/r: expected a string or a mapping/],
      [
        { r: `cp:///srv/x#sha256=${SUM}` },
        /^sources\/r: a sha256 checksum applies to a file or URL/,
      ],
      [true, /^sources: expected a mapping or a list/],
    ];
    for (const [value, re] of bad) {
      const err = (() => {
        try {
          parseSources(value);
        } catch (e) {
          return e;
        }
      })();
      expect(err, JSON.stringify(value)).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('never shows URL credentials', () => {
    const s = parseSourceString('http://user:secret@h/r.tgz', 'r');
    expect(displayUri(s)).toBe('http://***@h/r.tgz');
  });
});

const tools = capable(
  all(haveCommand('bzip2'), haveCommand('xz'), haveCommand('zstd')),
  'compression sniffing',
);

describe.skipIf(!tools)('detectCompression', () => {
  it('recognises formats by magic, not by name', () => {
    const data = Buffer.from('pxm '.repeat(200));
    const via = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { input: data });
    expect(detectCompression(gzipSync(data))).toBe('gzip');
    expect(detectCompression(via(['bzip2', '-c']))).toBe('bzip2');
    expect(detectCompression(via(['xz', '-c']))).toBe('xz');
    expect(detectCompression(via(['zstd', '-c']))).toBe('zstd');
    expect(detectCompression(data)).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });
});
