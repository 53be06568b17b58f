// write_files into a target directory: curtin's fields, owners from the target's own
// passwd/group, and confinement against `..` and hostile symlinks in the target.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { gzipSync } from 'node:zlib';
import {
  existsSync,
  lstatSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { Runner, formatStep } from '../../src/runner/runner.js';
import { Reporter, type ReportEvent } from '../../src/report/events.js';
import { writeFiles, parseWriteFiles } from '../../src/sources/index.js';
import { ValidationError } from '../../src/util/errors.js';
import { capable, haveRoot } from '../helpers/capability.js';

const ok = capable(haveRoot(), 'write_files tests (chown to target-only owners)');

describe.skipIf(!ok)('writeFiles', () => {
  let work: string;
  let target: string;
  let outside: string;

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'pxm-wf-'));
    target = path.join(work, 'target');
    outside = path.join(work, 'outside');
    mkdirSync(path.join(target, 'etc'), { recursive: true });
    mkdirSync(outside);
    // Names the host does not have, with ids the host does not use for them.
    writeFileSync(
      path.join(target, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\npxmsvc:x:4242:4343::/srv:/bin/false\n',
    );
    writeFileSync(path.join(target, 'etc/group'), 'root:x:0:\npxmgrp:x:4343:\nother:x:777:\n');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  async function run(files: unknown, dryRun = false) {
    const events: ReportEvent[] = [];
    const stack = new Reporter([{ publish: (e) => void events.push(e) }]).stack('extract', 'x');
    const runner = new Runner({ dryRun });
    await stack.run((s) => writeFiles({ runner, stack: s, files, target }));
    return { runner, events };
  }

  it('writes content with curtin encodings, modes and owners from the target', async () => {
    const payload = Buffer.from('binary\x00\xffdata', 'latin1');
    // The config as the loader parses it (YAML 1.1, like curtin's PyYAML): 0600 is octal.
    const cfg = parseDocument(
      `
write_files:
  plain: {path: /etc/motd, content: "hello\\n"}
  b64: {path: etc/b64.bin, content: ${payload.toString('base64')}, encoding: b64, permissions: '0600'}
  gz: {path: /opt/new/dir/gz.txt, content: !!binary ${gzipSync('gzipped\n').toString('base64')}, encoding: gzip}
  gzb64: {path: /srv/gzb64, content: ${gzipSync('both\n').toString('base64')}, encoding: gz+b64, owner: 'pxmsvc:pxmgrp', permissions: 04750}
  num: {path: /srv/num, content: x, owner: '1234:5678', perms: '640'}
  grp: {path: /srv/grp, content: y, owner: ':other'}
`,
      { version: '1.1' },
    ).toJS() as { write_files: unknown };
    const { runner } = await run(cfg.write_files);
    expect(readFileSync(path.join(target, 'etc/motd'), 'utf8')).toBe('hello\n');
    expect(statSync(path.join(target, 'etc/motd')).mode & 0o7777).toBe(0o644);
    expect(readFileSync(path.join(target, 'etc/b64.bin'))).toEqual(payload);
    expect(statSync(path.join(target, 'etc/b64.bin')).mode & 0o7777).toBe(0o600);
    expect(readFileSync(path.join(target, 'opt/new/dir/gz.txt'), 'utf8')).toBe('gzipped\n');
    expect(statSync(path.join(target, 'opt/new/dir')).mode & 0o7777).toBe(0o755);
    const s = statSync(path.join(target, 'srv/gzb64'));
    expect(readFileSync(path.join(target, 'srv/gzb64'), 'utf8')).toBe('both\n');
    // setuid survives because the owner is set before the mode.
    expect([s.uid, s.gid, s.mode & 0o7777]).toEqual([4242, 4343, 0o4750]);
    const n = statSync(path.join(target, 'srv/num'));
    expect([n.uid, n.gid, n.mode & 0o7777]).toEqual([1234, 5678, 0o640]);
    expect(statSync(path.join(target, 'srv/grp')).gid).toBe(777);
    expect(runner.plan.map(formatStep)[3]).toBe(
      `write ${target}/srv/gzb64    # write_files/gzb64 (5 bytes, mode 4750 pxmsvc:pxmgrp)`,
    );
  });

  it('appends when asked and truncates otherwise', async () => {
    writeFileSync(path.join(target, 'etc/hosts'), 'old\n');
    writeFileSync(path.join(target, 'etc/fresh'), 'a long old content\n');
    await run({
      a: { path: '/etc/hosts', content: 'new\n', append: true },
      b: { path: '/etc/fresh', content: 'new\n' },
    });
    expect(readFileSync(path.join(target, 'etc/hosts'), 'utf8')).toBe('old\nnew\n');
    expect(readFileSync(path.join(target, 'etc/fresh'), 'utf8')).toBe('new\n');
  });

  it('keeps every write inside the target: .. and symlinks pointing out are resolved within it', async () => {
    // Hostile target content: absolute and relative links that point at the host.
    symlinkSync(outside, path.join(target, 'abs-dir'));
    symlinkSync('../../outside', path.join(target, 'rel-dir'));
    symlinkSync(path.join(outside, 'victim'), path.join(target, 'etc/victim-link'));
    symlinkSync('/etc', path.join(target, 'etcl'));
    await run({
      dots: { path: '../../outside/escape1', content: '1' },
      abs: { path: '/abs-dir/escape2', content: '2' },
      rel: { path: 'rel-dir/escape3', content: '3' },
      final: { path: '/etc/victim-link', content: '4' },
      viaetc: { path: '/etcl/via', content: '5' },
    });
    expect(readdirSync(outside)).toEqual([]);
    // Each write landed where a chroot into the target would have put it.
    expect(readFileSync(path.join(target, 'outside/escape1'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(target, work, 'outside/escape2'), 'utf8')).toBe('2');
    expect(readFileSync(path.join(target, 'outside/escape3'), 'utf8')).toBe('3');
    expect(readFileSync(path.join(target, outside, 'victim'), 'utf8')).toBe('4');
    expect(lstatSync(path.join(target, 'etc/victim-link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(target, 'etc/via'), 'utf8')).toBe('5');
  });

  it('refuses bad entries before writing anything, naming the key', async () => {
    const bad: [unknown, RegExp][] = [
      [
        { a: { path: '/x', content: 'x' }, b: { path: '/y', content: '!!', encoding: 'b64' } },
        /^write_files\/b\/content: cannot decode as b64/,
      ],
      [
        { a: { path: '/x', content: 'x' }, b: { path: '/y', encoding: 'rot13' } },
        /^write_files\/b\/encoding: unknown encoding "rot13"/,
      ],
      [
        { a: { path: '/x', content: 'x' }, b: { path: '/y', permissions: 'rwxr-xr-x' } },
        /^write_files\/b\/permissions: expected an octal mode/,
      ],
      [
        { a: { path: '/x', content: 'x' }, b: { path: '/y', owner: 'a:b:c' } },
        /^write_files\/b\/owner/,
      ],
      [['not a mapping'], /^write_files\/0: expected a mapping/],
    ];
    for (const [files, re] of bad) {
      const err = await run(files).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(re);
      expect(existsSync(path.join(target, 'x'))).toBe(false);
    }
  });

  it('fails on an owner the target does not know, and skips entries without a path with a WARN', async () => {
    const err = await run({ a: { path: '/x', content: 'x', owner: 'nosuchuser:root' } }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe(
      `write_files/a/owner: user "nosuchuser" not found in the target's /etc/passwd`,
    );
    const { events } = await run({
      nopath: { content: 'lost' },
      ok: { path: '/ok', content: 'y' },
    });
    expect(events.at(-1)).toMatchObject({ event_type: 'finish', result: 'WARN' });
    expect(readFileSync(path.join(target, 'ok'), 'utf8')).toBe('y');
    expect(parseWriteFiles({ nopath: { content: 'lost' } }).skipped).toEqual([
      'write_files/nopath',
    ]);
  });

  it('dry-run plans the writes and creates nothing', async () => {
    const { runner } = await run(
      { a: { path: '/new/dir/file', content: 'x', owner: 'pxmsvc:pxmgrp' } },
      true,
    );
    expect(runner.plan.map(formatStep)).toEqual([
      `write ${target}/new/dir/file    # write_files/a (1 bytes, mode 0644 pxmsvc:pxmgrp)`,
    ]);
    expect(existsSync(path.join(target, 'new'))).toBe(false);
  });
});
