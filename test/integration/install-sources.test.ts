// The engine with real sources: a tarball from a file and from a local HTTP server
// extracted into --target (by src/sources), byte progress in --json, the image's own
// curtin/curtin-hooks and curtin/finalize run by the curthooks and hook builtins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
  statSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pxm } from '../helpers/pxm.js';

let dir: string;
let tarball: string;
let server: http.Server;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-install-src-test-'));
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  mkdirSync(path.join(tree, 'curtin'));
  writeFileSync(path.join(tree, 'etc/hostname'), 'from-the-image\n');
  writeFileSync(path.join(tree, 'etc/big'), Buffer.alloc(3 * 1024 * 1024, 7));
  // The image's hooks: curthooks runs curtin-hooks, hook runs finalize, both on the host.
  writeFileSync(
    path.join(tree, 'curtin/curtin-hooks'),
    '#!/bin/sh\necho "$CURTIN_REPORTSTACK" > "$TARGET_MOUNT_POINT/hooks-ran"\n',
  );
  writeFileSync(
    path.join(tree, 'curtin/finalize'),
    '#!/bin/sh\necho "$CURTIN_REPORTSTACK" > "$TARGET_MOUNT_POINT/finalize-ran"\n',
  );
  chmodSync(path.join(tree, 'curtin/curtin-hooks'), 0o755);
  chmodSync(path.join(tree, 'curtin/finalize'), 0o755);
  tarball = path.join(dir, 'root.tar.xz');
  execFileSync('tar', ['-C', tree, '-cJf', tarball, '.']);
  server = http.createServer((req, res) => {
    res.setHeader('content-length', statSync(tarball).size);
    createReadStream(tarball).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/root.tar.xz`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `install:\n  log_file: ${dir}/${name}.log\n  error_tarfile: ${dir}/${name}.tar\n`,
  );
  return file;
}

describe('pxm install with sources', () => {
  for (const kind of ['file', 'http'] as const) {
    it(`extracts a tarball from ${kind} and runs the image's hooks`, async () => {
      const target = path.join(dir, `target-${kind}`);
      const source = kind === 'file' ? tarball : url;
      const r = await pxm(['install', '--json', '--target', target, '-c', config(kind), source]);
      expect(String(r.stderr)).not.toMatch(/install failed/);
      expect(r.exitCode).toBe(0);
      expect(readFileSync(path.join(target, 'etc/hostname'), 'utf8')).toBe('from-the-image\n');
      expect(statSync(path.join(target, 'etc/big')).size).toBe(3 * 1024 * 1024);
      expect(readFileSync(path.join(target, 'hooks-ran'), 'utf8')).toBe(
        'cmd-install/stage-curthooks/builtin\n',
      );
      expect(readFileSync(path.join(target, 'finalize-ran'), 'utf8')).toBe(
        'cmd-install/stage-hook/builtin\n',
      );
      const lines = String(r.stdout)
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as { event_type: string; name: string; done?: number; total?: number },
        );
      const progress = lines.filter((l) => l.event_type === 'progress');
      const last = progress.at(-1);
      expect(last?.name).toBe('cmd-install/stage-extract/builtin/source-00_cmdline');
      expect(last?.done).toBe(statSync(tarball).size);
      expect(last?.total).toBe(statSync(tarball).size);
    });
  }

  it('a source that cannot go into a directory is refused before anything runs', async () => {
    const target = path.join(dir, 'target-dd');
    const r = await pxm(['install', '--target', target, '-c', config('dd'), `dd-raw:${url}`]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(
      'command line: sources/00_cmdline: dd-raw sources are written to a disk',
    );
    expect(() => statSync(target)).toThrow();
  });

  it('a disk install without storage: is refused: pxm never picks a disk', async () => {
    const r = await pxm(['install', '-c', config('nodisk'), tarball]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('no storage: config and no --target DIR');
  });

  it('a storage config naming a disk that does not exist is refused before anything runs', async () => {
    const cfg = path.join(dir, 'nodev.yaml');
    writeFileSync(
      cfg,
      [
        'storage:',
        '  version: 1',
        '  config:',
        '    - {id: disk0, type: disk, path: /dev/pxm-test-no-such-disk, ptable: gpt}',
        `install: {log_file: ${dir}/nodev.log}`,
      ].join('\n'),
    );
    const r = await pxm(['install', '-c', cfg, tarball]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(`pxm: ${cfg}: storage config:`);
    expect(String(r.stderr)).toContain("action 'disk0'");
    expect(() => statSync(path.join(dir, 'nodev.log'))).toThrow(); // nothing ran, not even the log
  });
});
