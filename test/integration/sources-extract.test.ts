// Extraction of a real archive (xattrs, ACLs, hard links, symlinks, sparse file, odd
// owners, special modes, FIFO, device node) through pxm's API, from files and from a
// local HTTP server, compared with `tar -x` of the same archive and with the source tree.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Runner, formatStep } from '../../src/runner/runner.js';
import { Reporter, type ReportEvent, type ProgressUpdate } from '../../src/report/events.js';
import { extractSources, ChecksumMismatchError } from '../../src/sources/index.js';
import { ValidationError } from '../../src/util/errors.js';
import { snapshot, compareTrees, type Snapshot } from '../fixtures/sources/tree-compare.js';
import { capable, all, haveRoot, haveCommand } from '../helpers/capability.js';

const ok = capable(
  all(
    haveRoot(),
    haveCommand('tar'),
    haveCommand('setfacl'),
    haveCommand('setfattr'),
    haveCommand('getfattr'),
    haveCommand('zstd'),
    haveCommand('xz'),
    haveCommand('bzip2'),
  ),
  'sources extraction tests',
);

const COMPRESSIONS = ['none', 'gzip', 'xz', 'zstd', 'bzip2'] as const;
const COMPRESS_CMD: Record<(typeof COMPRESSIONS)[number], string | undefined> = {
  none: undefined,
  gzip: 'gzip -c',
  xz: 'xz -T2 -c',
  zstd: 'zstd -q -c',
  bzip2: 'bzip2 -c',
};

describe.skipIf(!ok)('extractSources', () => {
  let work: string;
  let tree: string;
  let reference: Snapshot;
  let source: Snapshot;
  const archives: Record<string, string> = {};
  let server: Server;
  let base: string;
  let requests = 0;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pxm-sources-'));
    tree = path.join(work, 'tree');
    execFileSync('bash', [path.resolve('test/fixtures/sources/make-tree.sh'), tree]);
    const plain = path.join(work, 'root.tar');
    execFileSync('tar', [
      '-c',
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
      '--sparse',
      '--numeric-owner',
      '-f',
      plain,
      '-C',
      tree,
      '.',
    ]);
    for (const c of COMPRESSIONS) {
      const cmd = COMPRESS_CMD[c];
      // Names lie on purpose: compression must come from the content.
      const file = path.join(work, `root-${c}.tgz`);
      if (cmd) execFileSync('sh', ['-c', `${cmd} "$1" > "$2"`, 'sh', plain, file]);
      else execFileSync('cp', [plain, file]);
      archives[c] = file;
    }
    const ref = path.join(work, 'reference');
    execFileSync('mkdir', [ref]);
    execFileSync('tar', [
      '-x',
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
      '--numeric-owner',
      '-p',
      '-C',
      ref,
      '-f',
      plain,
    ]);
    reference = snapshot(ref);
    source = snapshot(tree);

    server = createServer((req, res) => {
      requests++;
      const [, mode, name] = (req.url ?? '').split('/');
      const file = path.join(work, name ?? '');
      if (!name || !existsSync(file) || name.includes('..')) {
        res.writeHead(404).end('not found');
        return;
      }
      const size = statSync(file).size;
      if (mode === 'len') {
        res.writeHead(200, { 'content-length': size });
        createReadStream(file).pipe(res);
      } else if (mode === 'chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        createReadStream(file, { highWaterMark: 7001 }).pipe(res);
      } else if (mode === 'redirect') {
        res.writeHead(302, { location: `/len/${name}` }).end();
      } else if (mode === 'cut') {
        // Promises every byte, sends half, then drops the connection.
        res.writeHead(200, { 'content-length': size });
        res.write(readFileSync(file).subarray(0, Math.floor(size / 2)), () =>
          res.socket?.destroy(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function harness(dryRun = false) {
    const events: ReportEvent[] = [];
    const progress: ProgressUpdate[] = [];
    const reporter = new Reporter([
      { publish: (e) => void events.push(e), progress: (p) => void progress.push(p) },
    ]);
    const stack = reporter.stack('cmd-install/stage-extract', 'extract');
    const runner = new Runner({ dryRun });
    const target = path.join(mkdtempSync(path.join(work, 't-')), 'target');
    return { events, progress, stack, runner, target };
  }

  function expectIdentical(target: string): void {
    const got = snapshot(target);
    expect(compareTrees(reference, got, { exactBlocks: true })).toEqual([]);
    expect(compareTrees(source, got, { mtimeSeconds: true })).toEqual([]);
  }

  for (const c of COMPRESSIONS) {
    it(`${c}: from a path, file://, HTTP with Content-Length and chunked HTTP, identical to tar -x`, async () => {
      const name = path.basename(archives[c]!);
      const uris = [
        archives[c]!,
        pathToFileURL(archives[c]!).href,
        `${base}/len/${name}`,
        `${base}/chunked/${name}`,
      ];
      for (const uri of uris) {
        const h = harness();
        await extractSources({
          runner: h.runner,
          stack: h.stack,
          sources: { '10_root': uri },
          target: h.target,
        });
        expectIdentical(h.target);
        const expected = c === 'none' ? 'plain' : c;
        expect(h.runner.plan.map(formatStep)).toEqual([
          expect.stringContaining(`→ ${h.target} (tar, ${expected})`),
        ]);
      }
    });
  }

  it('reports byte progress with the Content-Length as total, and SUCCESS', async () => {
    const h = harness();
    const size = statSync(archives.zstd!).size;
    await extractSources({
      runner: h.runner,
      stack: h.stack,
      sources: [`${base}/redirect/${path.basename(archives.zstd!)}`],
      target: h.target,
    });
    expect(h.progress.at(-1)).toMatchObject({ done: size, total: size, unit: 'bytes' });
    expect(h.events.at(-1)).toMatchObject({
      event_type: 'finish',
      result: 'SUCCESS',
      name: 'cmd-install/stage-extract/source-0',
    });
    expectIdentical(h.target);
  });

  it('verifies a correct sha256 and refuses a wrong one, naming expected and actual', async () => {
    const sum = execFileSync('sha256sum', [archives.gzip!], { encoding: 'utf8' }).split(' ')[0]!;
    const good = harness();
    await extractSources({
      runner: good.runner,
      stack: good.stack,
      sources: { r: { uri: `${base}/len/${path.basename(archives.gzip!)}`, sha256: sum } },
      target: good.target,
    });
    expectIdentical(good.target);

    const wrong = '0'.repeat(64);
    for (const uri of [
      archives.gzip!,
      `${base}/chunked/${path.basename(archives.gzip!)}#sha256=${wrong}`,
    ]) {
      const bad = harness();
      const sources = uri.includes('#')
        ? [uri]
        : { r: { uri, type: 'tgz', sha256: `sha256:${wrong}` } };
      const err = await extractSources({
        runner: bad.runner,
        stack: bad.stack,
        sources,
        target: bad.target,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      expect((err as Error).message).toContain(`expected ${wrong}, got ${sum}`);
      expect(bad.events.at(-1)).toMatchObject({ event_type: 'finish', result: 'FAIL' });
    }
  });

  it('fails clearly on truncated and corrupt archives and on a dropped connection', async () => {
    const cases: [string, RegExp][] = [];
    for (const c of ['none', 'gzip', 'zstd', 'xz'] as const) {
      const cut = path.join(work, `cut-${c}.tgz`);
      const buf = readFileSync(archives[c]!);
      writeFileSync(cut, buf.subarray(0, Math.floor(buf.length * 0.6)));
      cases.push([cut, c === 'gzip' ? /gzip data: unexpected end of file/ : /tar exit status 2/]);
    }
    const junk = path.join(work, 'junk.tgz');
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    cases.push([junk, /not a tar archive/]);
    const badGz = path.join(work, 'badgz.tgz');
    const gz = Buffer.from(readFileSync(archives.gzip!));
    gz.fill(0x55, 100, 400);
    writeFileSync(badGz, gz);
    cases.push([badGz, /gzip data: /]);
    cases.push([
      `${base}/cut/${path.basename(archives.none!)}`,
      /terminated|closed|other side|aborted/i,
    ]);
    cases.push([`${base}/len/missing.tgz`, /HTTP 404/]);
    for (const [uri, re] of cases) {
      const h = harness();
      const err = await extractSources({
        runner: h.runner,
        stack: h.stack,
        sources: { x: uri },
        target: h.target,
      }).catch((e: unknown) => e as Error);
      expect(err, uri).toBeInstanceOf(Error);
      expect((err as Error).message, uri).toMatch(re);
      expect((err as Error).message, uri).toContain('sources/x');
      expect(h.events.at(-1), uri).toMatchObject({ event_type: 'finish', result: 'FAIL' });
    }
  });

  it('dry-run plans the extraction, contacts no server and creates nothing', async () => {
    const h = harness(true);
    const before = requests;
    await extractSources({
      runner: h.runner,
      stack: h.stack,
      sources: {
        '10_a': archives.zstd!,
        '20_b': `${base}/len/${path.basename(archives.xz!)}`,
        '05_c': `cp://${tree}`,
      },
      target: h.target,
    });
    expect(requests).toBe(before);
    expect(existsSync(h.target)).toBe(false);
    expect(h.runner.plan.map(formatStep)).toEqual([
      expect.stringMatching(new RegExp(`^run   cp -ax --sparse=always ${tree}/\\. ${h.target}/`)),
      `do    extract ${archives.zstd} → ${h.target} (tar, zstd)`,
      `do    extract ${base}/len/${path.basename(archives.xz!)} → ${h.target} (tar, compression detected from content)`,
    ]);
  });

  it('copies a cp:// tree with everything preserved', async () => {
    const h = harness();
    await extractSources({
      runner: h.runner,
      stack: h.stack,
      sources: [`cp://${tree}`],
      target: h.target,
    });
    expect(compareTrees(source, snapshot(h.target), { exactBlocks: false })).toEqual([]);
  });

  it('rejects dd-* and fsimage sources before touching anything', async () => {
    for (const s of [
      'dd-tgz:http://x/disk.tgz',
      'dd-raw:/tmp/disk.img',
      'fsimage:/tmp/root.squashfs',
      '/srv/x.squashfs',
    ]) {
      const h = harness();
      const err = await extractSources({
        runner: h.runner,
        stack: h.stack,
        sources: { '00_ok': archives.gzip!, '10_disk': s },
        target: h.target,
      }).catch((e: unknown) => e);
      expect(err, s).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(
        /^sources\/10_disk: .*not supported for --target installs/,
      );
      expect(h.runner.plan).toEqual([]);
      expect(existsSync(h.target)).toBe(false);
    }
  });
});
