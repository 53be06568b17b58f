// Prepares the Node runtime an installer carries (`--with-node`): a stripped copy of the
// binary, compressed with xz (when xz exists at pack time) or gzip, cached by input.
//
// Compressing ~90 MB with xz takes about 40 s here, so the result is cached under
// $PXM_CACHE_DIR/pack-runtime, keyed by the source binary's identity (real path, size,
// mtime, inode) and the compression settings. The server packs one installer per node:
// only the first pays for xz.
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import {
  access,
  copyFile,
  mkdtemp,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
  mkdir,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Runner } from '../runner/runner.js';
import { PxmError, ValidationError, errorMessage } from '../util/errors.js';

export type RuntimeCompression = 'xz' | 'gzip';

export interface PreparedRuntime {
  /** The compressed binary, as stored in the payload at runtime/node.<ext>. */
  data: Buffer;
  compression: RuntimeCompression;
  /** `node --version` of the embedded binary, e.g. v20.20.2. */
  version: string;
  stripped: boolean;
  /** Where it came from (for `info`). */
  source: string;
  /** True when the compressed copy came from the cache. */
  cached: boolean;
}

export interface RuntimeOptions {
  /** Node binary to embed; default: the running one (process.execPath). */
  path?: string;
  /** Default: xz when `xz` is on PATH at pack time, gzip otherwise. */
  compression?: RuntimeCompression | 'auto';
  /** Strip symbols first when `strip` exists (about 99 MB to 86 MB). Default true. */
  strip?: boolean;
  /** Default $PXM_CACHE_DIR or /var/cache/pxm; false disables the cache. */
  cacheDir?: string | false;
  runner?: Runner;
}

/** Bumped when the way the cached artefact is made changes. */
const CACHE_FORMAT = 1;
const XZ_ARGS = ['-6', '-T1']; // -T1: single-threaded output is the same on every machine

export async function onPath(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await access(p, fsc.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function defaultCacheDir(): string {
  return process.env.PXM_CACHE_DIR || '/var/cache/pxm';
}

export async function prepareRuntime(opts: RuntimeOptions = {}): Promise<PreparedRuntime> {
  const runner = opts.runner ?? new Runner();
  const source = opts.path ?? process.execPath;
  let real: string;
  let st;
  try {
    real = await realpath(source);
    st = await stat(real);
  } catch (error) {
    throw new ValidationError(
      `--with-node ${source}`,
      `cannot read the node binary: ${errorMessage(error)}`,
    );
  }
  if (!st.isFile()) throw new ValidationError(`--with-node ${source}`, 'not a regular file');
  // The running node needs no probe (a spawn costs 50-100 ms on a busy machine).
  const running = await realpath(process.execPath).catch(() => process.execPath);
  const version = real === running ? process.version : await probeVersion(runner, real, source);

  const xz = await onPath('xz');
  const wanted = opts.compression ?? 'auto';
  if (wanted === 'xz' && !xz) {
    throw new PxmError('runtime compression xz requested but xz is not installed', {
      hint: 'install xz-utils, or use --node-compression gzip',
    });
  }
  const compression: RuntimeCompression = wanted === 'auto' ? (xz ? 'xz' : 'gzip') : wanted;
  const stripTool = opts.strip === false ? undefined : await onPath('strip');

  const key = createHash('sha256')
    .update(
      JSON.stringify([
        CACHE_FORMAT,
        real,
        st.size,
        st.mtimeMs,
        st.ino,
        compression,
        XZ_ARGS,
        !!stripTool,
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  const cacheRoot =
    opts.cacheDir === false
      ? undefined
      : path.join(opts.cacheDir ?? defaultCacheDir(), 'pack-runtime');
  const cacheFile =
    cacheRoot && path.join(cacheRoot, `${key}.node.${compression === 'xz' ? 'xz' : 'gz'}`);
  if (cacheFile) {
    const hit = await readFile(cacheFile).catch(() => undefined);
    if (hit)
      return { data: hit, compression, version, stripped: !!stripTool, source, cached: true };
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'pxm-pack-runtime-'));
  try {
    const copy = path.join(work, 'node');
    await runner.action(
      { kind: 'write', path: copy, description: `copy ${real} to strip and compress` },
      () => copyFile(real, copy),
    );
    if (stripTool) {
      await runner.run({ argv: [stripTool, copy], description: 'strip the embedded node runtime' });
    }
    let data: Buffer;
    if (compression === 'xz') {
      await runner.run({
        argv: [xz as string, ...XZ_ARGS, '--', copy],
        description: 'compress the runtime (xz)',
      });
      data = await readFile(`${copy}.xz`);
    } else {
      data = gzipSync(await readFile(copy), { level: 9 });
    }
    if (cacheFile && cacheRoot) await storeInCache(cacheRoot, cacheFile, data);
    return { data, compression, version, stripped: !!stripTool, source, cached: false };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function probeVersion(runner: Runner, real: string, source: string): Promise<string> {
  const r = await runner
    .probe({ argv: [real, '--version'], allowFailure: true, timeoutMs: 30_000 })
    .catch(() => undefined);
  const v = r?.stdout.trim() ?? '';
  if (!r || r.exitCode !== 0 || !/^v\d+\.\d+\.\d+/.test(v)) {
    throw new ValidationError(
      `--with-node ${source}`,
      'does not run as a node binary (`--version` failed)',
    );
  }
  return v;
}

/** Best effort: an unwritable cache only costs time. Written then renamed: no torn reads. */
async function storeInCache(root: string, file: string, data: Buffer): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch {
    // read-only or missing cache directory
  }
}
