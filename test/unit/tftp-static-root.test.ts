import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/server/tftp/packet.js';
import { StaticRootHandler, normaliseTftpPath } from '../../src/server/tftp/static-root.js';
import type { TftpResolution } from '../../src/server/tftp/handler.js';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';

const remote = { address: '127.0.0.1', port: 1, family: 'IPv4' as const };

async function content(r: TftpResolution): Promise<string> {
  if ('error' in r)
    throw new Error(`expected a file, got error ${r.error.code} ${r.error.message}`);
  const buf = Buffer.alloc(r.source.size);
  await r.source.read([buf.subarray(0, 3), buf.subarray(3)], 0);
  await r.source.close();
  return buf.toString();
}

function codeOf(r: TftpResolution): number {
  if (!('error' in r)) {
    void r.source.close();
    return -1;
  }
  return r.error.code;
}

describe('normaliseTftpPath', () => {
  it('makes names root-relative and refuses ..', () => {
    expect(normaliseTftpPath('/pxelinux.0', '/srv/tftp')).toEqual({ relative: 'pxelinux.0' });
    expect(normaliseTftpPath('/srv/tftp/grub/x', '/srv/tftp')).toEqual({ relative: 'grub/x' });
    expect(normaliseTftpPath('a\\b//./c', '/srv/tftp')).toEqual({ relative: 'a/b/c' });
    expect(normaliseTftpPath('../etc/passwd', '/srv')).toMatchObject({ error: { code: 2 } });
    expect(normaliseTftpPath('a/../../x', '/srv')).toMatchObject({ error: { code: 2 } });
    expect(normaliseTftpPath('..\\x', '/srv')).toMatchObject({ error: { code: 2 } });
    expect(normaliseTftpPath('/./', '/srv')).toMatchObject({ error: { code: 1 } });
  });
});

describe('StaticRootHandler on a real directory', () => {
  let dir: string;
  let root: string;
  let h: StaticRootHandler;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-tftp-root-'));
    root = path.join(dir, 'root');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'sub', 'file.txt'), 'inside file');
    writeFileSync(path.join(dir, 'secret'), 'outside secret');
    symlinkSync('../secret', path.join(root, 'link-out'));
    symlinkSync('/etc/hostname', path.join(root, 'abs-link-out'));
    symlinkSync('sub/file.txt', path.join(root, 'link-in'));
    symlinkSync('/dev/zero', path.join(root, 'dev-link'));
    h = new StaticRootHandler(root);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const get = (filename: string) => h.resolve({ filename, remote });

  it('serves regular files, also through symlinks that stay inside', async () => {
    expect(await content(await get('sub/file.txt'))).toBe('inside file');
    expect(await content(await get('/sub/file.txt'))).toBe('inside file');
    expect(await content(await get(`${root}/sub/file.txt`))).toBe('inside file');
    expect(await content(await get('link-in'))).toBe('inside file');
  });

  it('refuses traversal and symlinks that point out of the root', async () => {
    expect(codeOf(await get('../secret'))).toBe(ErrorCode.ACCESS_VIOLATION);
    expect(codeOf(await get('sub/../../secret'))).toBe(ErrorCode.ACCESS_VIOLATION);
    expect(codeOf(await get('link-out'))).toBe(ErrorCode.ACCESS_VIOLATION);
    expect(codeOf(await get('abs-link-out'))).toBe(ErrorCode.ACCESS_VIOLATION);
    expect(codeOf(await get('dev-link'))).toBe(ErrorCode.ACCESS_VIOLATION);
    // an absolute name outside the root is root-relative, so it simply does not exist
    expect(codeOf(await get('/etc/passwd'))).toBe(ErrorCode.FILE_NOT_FOUND);
    expect(codeOf(await get('missing'))).toBe(ErrorCode.FILE_NOT_FOUND);
    expect(codeOf(await get('sub/file.txt/x'))).toBe(ErrorCode.FILE_NOT_FOUND);
  });

  it('refuses directories', async () => {
    expect(codeOf(await get('sub'))).toBe(ErrorCode.ACCESS_VIOLATION);
  });

  it.runIf(capable(haveCommand('mkfifo'), 'FIFO refusal'))(
    'refuses a FIFO without blocking',
    async () => {
      execFileSync('mkfifo', [path.join(root, 'fifo')]);
      expect(codeOf(await get('fifo'))).toBe(ErrorCode.ACCESS_VIOLATION);
    },
  );

  it.runIf(capable(all(haveRoot(), haveCommand('mknod')), 'device file refusal'))(
    'refuses a device node inside the root',
    async () => {
      execFileSync('mknod', [path.join(root, 'null-dev'), 'c', '1', '3']);
      expect(codeOf(await get('null-dev'))).toBe(ErrorCode.ACCESS_VIOLATION);
    },
  );
});
