// Collects what goes into an installer's payload (bundle, configs, added files,
// runtime) as tar entries, validates archive paths, and compresses reproducibly.
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { ValidationError, errorMessage } from '../util/errors.js';
import { writeUstar, type TarEntry } from './ustar.js';

/** A config to pack: a file path, or content (YAML/JSON text, or an object) with a name. */
export type ConfigSpec =
  string | { name: string; content: string | Buffer | Record<string, unknown> };

/** An extra file: copied from SRC (file or directory), or given as content. */
export type AddSpec =
  { src: string; dest: string } | { dest: string; content: string | Buffer; mode?: number };

/** Top-level names the extractor itself uses; --add may not overwrite them. */
const RESERVED = [
  '.pxm',
  'pxm.cjs',
  'bin',
  'configs',
  'runtime',
  '.payload.tar',
  '.payload.tar.gz',
];

/** Normalises an archive path and confines it to the extraction directory. */
export function archivePath(dest: string, where: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(dest))
    throw new ValidationError(where, 'path contains control characters');
  if (dest.startsWith('/'))
    throw new ValidationError(where, `destination must be relative, got ${dest}`);
  const norm = path.posix.normalize(dest).replace(/\/+$/, '');
  if (norm === '' || norm === '.' || norm === '..' || norm.startsWith('../')) {
    throw new ValidationError(
      where,
      `destination must stay inside the installer directory, got ${dest}`,
    );
  }
  const top = norm.split('/')[0] as string;
  if (RESERVED.includes(top))
    throw new ValidationError(where, `destination ${norm} is reserved by the installer`);
  return norm;
}

/** Parses the CLI form SRC:DEST (DEST defaults to SRC's base name). */
export function parseAddFlag(value: string): { src: string; dest: string } {
  const i = value.lastIndexOf(':');
  const src = i === -1 ? value : value.slice(0, i);
  const dest = i === -1 ? path.basename(value) : value.slice(i + 1);
  if (!src || !dest) throw new ValidationError(`--add ${value}`, 'expected SRC:DEST');
  return { src, dest };
}

function configName(name: string, index: number, width: number): string {
  const safe = path.basename(name).replace(/[^A-Za-z0-9._-]/g, '_') || 'config.yaml';
  return `configs/${String(index + 1).padStart(width, '0')}-${safe}`;
}

/** Loads each config, checks it is a YAML mapping (curtin's rule), and names it in order. */
export async function configEntries(specs: readonly ConfigSpec[]): Promise<TarEntry[]> {
  const width = Math.max(2, String(specs.length).length);
  const out: TarEntry[] = [];
  for (const [i, spec] of specs.entries()) {
    let name: string;
    let data: Buffer;
    if (typeof spec === 'string') {
      name = spec;
      try {
        data = await readFile(spec);
      } catch (error) {
        throw new ValidationError(spec, `cannot read config: ${errorMessage(error)}`);
      }
    } else {
      name = spec.name;
      const c = spec.content;
      data = Buffer.isBuffer(c)
        ? c
        : Buffer.from(typeof c === 'string' ? c : JSON.stringify(c, null, 2) + '\n');
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(data.toString('utf8'));
    } catch (error) {
      throw new ValidationError(name, `not valid YAML: ${errorMessage(error).split('\n')[0]}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ValidationError(name, 'top level of a config must be a mapping');
    }
    // 0600: configs carry credentials (reporting webhook keys, passwords).
    out.push({ kind: 'file', path: configName(name, i, width), mode: 0o600, data });
  }
  return out;
}

async function walk(src: string, dest: string, where: string, out: TarEntry[]): Promise<void> {
  let st;
  try {
    st = await lstat(src);
  } catch (error) {
    throw new ValidationError(where, `cannot read ${src}: ${errorMessage(error)}`);
  }
  if (st.isSymbolicLink()) {
    out.push({ kind: 'symlink', path: dest, target: await readlink(src) });
  } else if (st.isDirectory()) {
    out.push({ kind: 'dir', path: dest, mode: st.mode & 0o7777 });
    const names = (await readdir(src)).sort();
    for (const name of names) await walk(path.join(src, name), `${dest}/${name}`, where, out);
  } else if (st.isFile()) {
    out.push({ kind: 'file', path: dest, mode: st.mode & 0o7777, data: await readFile(src) });
  } else {
    throw new ValidationError(where, `${src} is not a regular file, directory or symlink`);
  }
}

export async function addEntries(specs: readonly AddSpec[]): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const spec of specs) {
    const where = 'src' in spec ? `--add ${spec.src}:${spec.dest}` : `add ${spec.dest}`;
    const dest = archivePath(spec.dest, where);
    if ('src' in spec) await walk(spec.src, dest, where, out);
    else {
      const data = Buffer.isBuffer(spec.content) ? spec.content : Buffer.from(spec.content);
      out.push({ kind: 'file', path: dest, mode: spec.mode ?? 0o644, data });
    }
  }
  return out;
}

/**
 * Adds missing parent directories, refuses duplicates, and sorts by path bytes so the
 * archive does not depend on argument order of equal inputs or on the locale.
 */
export function finishEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const existing = byPath.get(e.path);
    if (existing && !(existing.kind === 'dir' && e.kind === 'dir')) {
      throw new ValidationError(
        e.path,
        'packed twice (two --add or --config entries give the same destination)',
      );
    }
    byPath.set(e.path, e);
  }
  for (const e of [...byPath.values()]) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const found = byPath.get(dir);
      if (!found)
        byPath.set(dir, { kind: 'dir', path: dir, mode: dir === 'configs' ? 0o700 : 0o755 });
      else if (found.kind !== 'dir')
        throw new ValidationError(e.path, `${dir} is packed as a file, not a directory`);
    }
  }
  return [...byPath.values()].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
}

/**
 * gzip with a fixed header: zlib already writes mtime 0; the OS byte is pinned to 3
 * (Unix) so the same payload compresses to the same bytes on every platform.
 */
export function gzipReproducible(data: Buffer, level = 9): Buffer {
  const gz = gzipSync(data, { level });
  gz.writeUInt32LE(0, 4); // MTIME
  gz[9] = 3; // OS
  return gz;
}

/**
 * The payload: one tar archive, gzip'd as consecutive gzip members (gzip -d, busybox
 * included, decompresses concatenated members as one stream). Entries that are already
 * compressed (the xz'd runtime) go into a stored member (level 0): deflating 22 MB of
 * xz output again gains nothing and cost about 1 s per pack.
 */
export function payloadArchive(
  entries: readonly TarEntry[],
  precompressed: (e: TarEntry) => boolean,
): Buffer {
  const members: Buffer[] = [];
  let offset = 0;
  let i = 0;
  while (i < entries.length || members.length === 0) {
    const stored = i < entries.length && precompressed(entries[i] as TarEntry);
    let j = i;
    while (j < entries.length && precompressed(entries[j] as TarEntry) === stored) j++;
    const last = j >= entries.length;
    const tar = writeUstar(entries.slice(i, j), { end: last, startOffset: offset });
    offset += tar.length;
    members.push(gzipReproducible(tar, stored ? 0 : 9));
    i = j;
    if (last) break;
  }
  return Buffer.concat(members);
}
