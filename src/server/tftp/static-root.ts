// Serves files from one directory. Every name comes from the network, so it is
// normalised and confined: `..` segments are refused, absolute names are taken relative
// to the root (as tftpd-hpa -s does, because firmware often asks for "/pxelinux.0"),
// symlinks are followed only when their target stays inside the root (realpath check),
// and only regular files are served (devices, FIFOs and directories are refused; FIFOs
// are opened non-blocking so a hostile FIFO cannot hang the server).
import { constants as fsc } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { TftpHandler, TftpRequest, TftpResolution, TftpSource } from './handler.js';
import { ErrorCode } from './packet.js';

export type NormalisedPath = { relative: string } | { error: { code: number; message: string } };

/**
 * Turns a requested TFTP name into a path relative to `rootAbs`, or an error. Backslashes
 * are separators (some Windows-era loaders send them); empty and `.` segments vanish.
 */
export function normaliseTftpPath(name: string, rootAbs: string): NormalisedPath {
  let p = name.replace(/\\/g, '/');
  const rootPrefix = rootAbs.endsWith('/') ? rootAbs : `${rootAbs}/`;
  if (p.startsWith(rootPrefix)) p = p.slice(rootPrefix.length);
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    return { error: { code: ErrorCode.ACCESS_VIOLATION, message: 'path escapes the root' } };
  }
  if (segments.length === 0) {
    return { error: { code: ErrorCode.FILE_NOT_FOUND, message: 'no file name' } };
  }
  return { relative: segments.join('/') };
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);
}

class FileSource implements TftpSource {
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(targets: Buffer[], position: number): Promise<number> {
    let want = 0;
    for (const t of targets) want += t.length;
    want = Math.min(want, Math.max(0, this.size - position));
    let got = (await this.fh.readv(targets, position)).bytesRead;
    // preadv may return short before EOF (signals, huge iovecs): finish the rest.
    while (got < want) {
      const rest = sliceTargets(targets, got);
      const n = (await this.fh.readv(rest, position + got)).bytesRead;
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function sliceTargets(targets: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let s = skip;
  for (const t of targets) {
    if (s >= t.length) {
      s -= t.length;
      continue;
    }
    out.push(s > 0 ? t.subarray(s) : t);
    s = 0;
  }
  return out;
}

const notFound = { error: { code: ErrorCode.FILE_NOT_FOUND, message: 'file not found' } };
const denied = (message: string): TftpResolution => ({
  error: { code: ErrorCode.ACCESS_VIOLATION, message },
});

/** Opens `relative` under `root` (both already normalised) as a TFTP source. */
export async function openConfined(root: string, relative: string): Promise<TftpResolution> {
  let rootReal: string;
  let real: string;
  try {
    rootReal = await realpath(root);
    real = await realpath(path.join(rootReal, relative));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return notFound;
    return denied('cannot resolve path');
  }
  if (!within(rootReal, real)) return denied('path escapes the root');
  let fh: FileHandle;
  try {
    fh = await open(real, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return notFound;
    return denied('cannot open file');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return denied('not a regular file');
    }
    return { source: new FileSource(fh, st.size) };
  } catch {
    await fh.close();
    return denied('cannot stat file');
  }
}

export class StaticRootHandler implements TftpHandler {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async resolve(request: TftpRequest): Promise<TftpResolution> {
    const n = normaliseTftpPath(request.filename, this.root);
    if ('error' in n) return n;
    return openConfined(this.root, n.relative);
  }
}
