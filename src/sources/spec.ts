// Source specs: what curtin accepts under `sources:` and on the command line, parsed
// into one shape before anything is fetched.
//
// curtin's rules (curtin/util.py sanitize_source, commands/extract.py):
// - a string may carry a type prefix (`tgz:`, `dd-xz:`, `fsimage:` ...); without one the
//   type is `tgz`, whatever the compression (it is sniffed from the content later);
// - `squashfs://`, `squashfs:` and names ending in `squash(fs)` mean `fsimage`;
// - `cp://DIR` copies a directory tree;
// - a mapping `{uri, type}` is taken as already sanitised;
// - `sources:` may be a mapping (entries run in sorted key order) or a list.
// pxm adds an optional sha256 checksum: `{uri, sha256}` in config, or a `#sha256=HEX`
// fragment on a string (a URL fragment is never sent to the server).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../util/errors.js';

/** curtin's source types. Tar types differ only in name: pxm sniffs compression. */
export const SOURCE_TYPES = [
  'tgz',
  'tbz',
  'txz',
  'dd-tgz',
  'dd-tbz',
  'dd-txz',
  'dd-tar',
  'dd-xz',
  'dd-raw',
  'cp',
  'fsimage',
  'fsimage-layered',
] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Where the bytes come from. */
export type SourceLocation =
  { kind: 'file'; path: string } | { kind: 'http'; url: string } | { kind: 'dir'; path: string };

export interface SourceSpec {
  /** Config key (`10_root`) or list index; names the source in errors and events. */
  key: string;
  type: SourceType;
  /** The URI as written, without type prefix and checksum fragment. */
  uri: string;
  location: SourceLocation;
  /** Lower-case hex SHA-256 of the bytes as fetched (before decompression). */
  sha256?: string;
}

/** What to do with a source: tar extraction, a tree copy, or something that needs a disk. */
export type SourceAction = 'tar' | 'cp' | 'dd' | 'fsimage';

export function sourceAction(type: SourceType): SourceAction {
  if (type === 'cp') return 'cp';
  if (type.startsWith('dd-')) return 'dd';
  if (type.startsWith('fsimage')) return 'fsimage';
  return 'tar';
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/** Parses one source string (`txz:http://h/root.tar.xz`, `cp:///srv/root`, `/tmp/r.tgz`). */
export function parseSourceString(raw: string, key: string): SourceSpec {
  const where = `sources/${key}`;
  let s = raw.trim();
  if (s === '') throw new ValidationError(where, 'empty source');
  let sha256: string | undefined;
  const frag = /#sha256=([^#]*)$/i.exec(s);
  if (frag) {
    sha256 = checkSha256(frag[1] ?? '', where);
    s = s.slice(0, frag.index);
  }
  const { type, uri } = splitType(s);
  return build({ key, type, uri, sha256, where });
}

/** Parses one entry of `sources:`: a string or a mapping `{uri, type?, sha256?}`. */
export function parseSourceEntry(value: unknown, key: string): SourceSpec {
  const where = `sources/${key}`;
  if (typeof value === 'string') return parseSourceString(value, key);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(
      where,
      `expected a string or a mapping {uri, type}, got ${kind(value)}`,
    );
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['uri', 'type', 'sha256'].includes(k)) {
      throw new ValidationError(`${where}/${k}`, 'unknown key (expected uri, type, sha256)');
    }
  }
  if (typeof o.uri !== 'string' || o.uri.trim() === '') {
    throw new ValidationError(`${where}/uri`, 'expected a non-empty string');
  }
  let sha256: string | undefined;
  if (o.sha256 !== undefined && o.sha256 !== null) {
    if (typeof o.sha256 !== 'string')
      throw new ValidationError(`${where}/sha256`, 'expected a hex string');
    sha256 = checkSha256(o.sha256.replace(/^sha256:/i, ''), `${where}/sha256`);
  }
  if (o.type === undefined || o.type === null) {
    // No type given: infer it from the URI as curtin does for strings.
    const spec = parseSourceString(o.uri, key);
    return sha256 ? { ...spec, sha256 } : spec;
  }
  if (typeof o.type !== 'string' || !(SOURCE_TYPES as readonly string[]).includes(o.type)) {
    throw new ValidationError(
      `${where}/type`,
      `expected one of ${SOURCE_TYPES.join(', ')}, got ${JSON.stringify(o.type)}`,
    );
  }
  return build({ key, type: o.type as SourceType, uri: o.uri.trim(), sha256, where });
}

/**
 * Parses the whole `sources:` value: a mapping (sorted by key, as curtin runs them), a
 * list, or a single string. Pure: touches nothing, so it can run at validation time.
 */
export function parseSources(value: unknown): SourceSpec[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [parseSourceString(value, '0')];
  if (Array.isArray(value)) return value.map((v, i) => parseSourceEntry(v, String(i)));
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // curtin: `sorted(sources.keys())`, i.e. plain string order.
    return Object.keys(o)
      .sort(byCodeUnits)
      .filter((k) => o[k] !== null && o[k] !== undefined && o[k] !== '')
      .map((k) => parseSourceEntry(o[k], k));
  }
  throw new ValidationError('sources', `expected a mapping or a list, got ${kind(value)}`);
}

/** Python's default string order (code points); localeCompare would differ. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function splitType(s: string): { type: SourceType; uri: string } {
  // Longest prefixes first, so `dd-tgz:` is not read as something shorter.
  const prefixed = [...SOURCE_TYPES].sort((a, b) => b.length - a.length);
  for (const t of prefixed) {
    if (t !== 'cp' && s.startsWith(`${t}:`)) return { type: t, uri: s.slice(t.length + 1) };
  }
  if (s.startsWith('squashfs://')) return { type: 'fsimage', uri: s.slice('squashfs://'.length) };
  if (s.startsWith('squashfs:')) return { type: 'fsimage', uri: s.slice('squashfs:'.length) };
  if (s.endsWith('squashfs') || s.endsWith('squash')) return { type: 'fsimage', uri: s };
  if (s.startsWith('cp://')) return { type: 'cp', uri: s };
  return { type: 'tgz', uri: s };
}

function build(a: {
  key: string;
  type: SourceType;
  uri: string;
  sha256: string | undefined;
  where: string;
}): SourceSpec {
  const location = locate(a.uri, a.type, a.where);
  if (a.sha256 && location.kind === 'dir') {
    throw new ValidationError(
      a.where,
      'a sha256 checksum applies to a file or URL, not a cp:// directory',
    );
  }
  const spec: SourceSpec = { key: a.key, type: a.type, uri: a.uri, location };
  if (a.sha256) spec.sha256 = a.sha256;
  return spec;
}

function locate(uri: string, type: SourceType, where: string): SourceLocation {
  if (uri === '') throw new ValidationError(where, 'empty URI after the type prefix');
  if (type === 'cp' || uri.startsWith('cp://')) {
    const dir = uri.startsWith('cp://') ? uri.slice('cp://'.length) : uri;
    if (dir === '') throw new ValidationError(where, 'cp:// needs a directory');
    return { kind: 'dir', path: path.resolve(dir) };
  }
  if (/^https?:\/\//i.test(uri)) {
    try {
      return { kind: 'http', url: new URL(uri).href };
    } catch {
      throw new ValidationError(where, `not a valid URL: ${uri}`);
    }
  }
  if (uri.startsWith('file:')) {
    try {
      return { kind: 'file', path: fileURLToPath(uri) };
    } catch (e) {
      throw new ValidationError(where, `not a valid file URL: ${uri} (${(e as Error).message})`);
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (scheme) {
    throw new ValidationError(
      where,
      `unsupported URL scheme ${scheme[1]}:// (use a path, file://, http://, https:// or cp://)`,
    );
  }
  return { kind: 'file', path: path.resolve(uri) };
}

function checkSha256(hex: string, where: string): string {
  const h = hex.trim().toLowerCase();
  if (!SHA256_RE.test(h))
    throw new ValidationError(where, `sha256 must be 64 hex digits, got ${JSON.stringify(hex)}`);
  return h;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v;
}

/** A short, log-safe name for a source: credentials in URLs are never shown. */
export function displayUri(spec: SourceSpec): string {
  const loc = spec.location;
  if (loc.kind === 'http') {
    const u = new URL(loc.url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.href;
  }
  if (loc.kind === 'dir') return `cp://${loc.path}`;
  return loc.path;
}
