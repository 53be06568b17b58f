// `write_files`: files curtin writes into the target at the end of the extract stage.
//
// Fields as curtin (futil.write_finfo) and cloud-init accept them: path (relative to
// the target), content, encoding (b64/base64, gz/gzip, gz+b64 and friends), permissions
// (octal string or number, default 0644; `perms` also accepted), owner `user:group`
// (names resolved in the TARGET's /etc/passwd and /etc/group, never the host's), append.
// `defer` is cloud-init's and meaningless here: ignored. An entry without a path is
// skipped with a warning, as curtin does.
import { constants } from 'node:fs';
import { mkdir, open, readFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import { PxmError, ValidationError } from '../util/errors.js';
import { resolveInTarget } from './confine.js';

export interface WriteFileEntry {
  /** `write_files/<key>`: names the entry in errors and in the plan. */
  where: string;
  /** Path inside the target, as written in the config. */
  path: string;
  content: Buffer;
  mode: number;
  /** Unset parts keep the default (root, or the existing file's owner). */
  owner?: { user?: string; group?: string };
  append: boolean;
}

const ENCODINGS: Record<string, 'text' | 'b64' | 'gz' | 'gz+b64'> = {
  'text/plain': 'text',
  b64: 'b64',
  base64: 'b64',
  gz: 'gz',
  gzip: 'gz',
  'gz+b64': 'gz+b64',
  'gz+base64': 'gz+b64',
  'gzip+b64': 'gz+b64',
  'gzip+base64': 'gz+b64',
};

/**
 * Validates and decodes `write_files` (a mapping, as curtin takes it, or a list, as
 * cloud-init does). Pure: call it before anything runs. Throws `ValidationError` naming
 * `write_files/<key>/<field>`. Entries without `path` are returned in `skipped`.
 */
export function parseWriteFiles(value: unknown): { entries: WriteFileEntry[]; skipped: string[] } {
  const entries: WriteFileEntry[] = [];
  const skipped: string[] = [];
  if (value === undefined || value === null) return { entries, skipped };
  let items: [string, unknown][];
  if (Array.isArray(value)) items = value.map((v, i) => [String(i), v]);
  else if (typeof value === 'object') items = Object.entries(value as Record<string, unknown>);
  else
    throw new ValidationError('write_files', `expected a mapping or a list, got ${typeof value}`);
  for (const [key, raw] of items) {
    const where = `write_files/${key}`;
    if (raw === null || raw === undefined || raw === false) continue;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ValidationError(where, 'expected a mapping {path, content, ...}');
    }
    const o = raw as Record<string, unknown>;
    if (o.path === undefined || o.path === null || o.path === '') {
      skipped.push(where);
      continue;
    }
    if (typeof o.path !== 'string') throw new ValidationError(`${where}/path`, 'expected a string');
    if (o.path.includes('\0')) throw new ValidationError(`${where}/path`, 'contains a NUL byte');
    entries.push({
      where,
      path: o.path,
      content: decodeContent(o.content, o.encoding, where),
      mode: decodeMode(o.permissions ?? o.perms, where),
      owner: decodeOwner(o.owner, where),
      append: Boolean(o.append) && o.append !== 'false',
    });
  }
  return { entries, skipped };
}

function decodeContent(content: unknown, encoding: unknown, where: string): Buffer {
  let raw: Buffer;
  if (content === undefined || content === null) raw = Buffer.alloc(0);
  else if (typeof content === 'string') raw = Buffer.from(content, 'utf8');
  else if (content instanceof Uint8Array)
    raw = Buffer.from(content); // YAML !!binary
  else if (typeof content === 'number' || typeof content === 'boolean')
    raw = Buffer.from(String(content));
  else throw new ValidationError(`${where}/content`, `expected a string, got ${typeof content}`);
  if (encoding === undefined || encoding === null) return raw;
  if (typeof encoding !== 'string' || !(encoding.toLowerCase() in ENCODINGS)) {
    throw new ValidationError(
      `${where}/encoding`,
      `unknown encoding ${JSON.stringify(encoding)} (expected one of ${Object.keys(ENCODINGS).join(', ')})`,
    );
  }
  const enc = ENCODINGS[encoding.toLowerCase()];
  try {
    if (enc === 'text') return raw;
    // Gzip given as a YAML string (not !!binary) can only be Latin-1 bytes.
    const bytes =
      enc === 'gz' && typeof content === 'string' ? Buffer.from(content, 'latin1') : raw;
    const unb64 = enc === 'b64' || enc === 'gz+b64' ? fromBase64(bytes.toString('latin1')) : bytes;
    return enc === 'gz' || enc === 'gz+b64' ? gunzipSync(unb64) : unb64;
  } catch (e) {
    throw new ValidationError(
      `${where}/content`,
      `cannot decode as ${encoding}: ${(e as Error).message}`,
    );
  }
}

function fromBase64(s: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw new Error('not base64');
  return Buffer.from(clean, 'base64');
}

/** curtin's decode_perms: numbers are taken as they are, strings as octal. */
function decodeMode(perm: unknown, where: string): number {
  if (perm === undefined || perm === null) return 0o644;
  let mode: number;
  if (typeof perm === 'number') mode = Math.trunc(perm);
  else if (typeof perm === 'string' && /^(0o?)?[0-7]{1,4}$/i.test(perm.trim())) {
    mode = parseInt(perm.trim().replace(/^0o/i, ''), 8);
  } else {
    throw new ValidationError(
      `${where}/permissions`,
      `expected an octal mode like '0644', got ${JSON.stringify(perm)}`,
    );
  }
  if (mode < 0 || mode > 0o7777) {
    throw new ValidationError(`${where}/permissions`, `mode ${perm} is out of range (0..07777)`);
  }
  return mode;
}

function decodeOwner(owner: unknown, where: string): WriteFileEntry['owner'] {
  if (owner === undefined || owner === null || owner === '') return undefined;
  if (typeof owner !== 'string')
    throw new ValidationError(`${where}/owner`, "expected 'user:group'");
  const [user, group, extra] = owner.split(':');
  if (extra !== undefined)
    throw new ValidationError(
      `${where}/owner`,
      `expected 'user:group', got ${JSON.stringify(owner)}`,
    );
  const keep = (s: string | undefined): string | undefined =>
    s === undefined || s === '' || s === '-1' ? undefined : s;
  const r: { user?: string; group?: string } = {};
  const u = keep(user);
  const g = keep(group);
  if (u !== undefined) r.user = u;
  if (g !== undefined) r.group = g;
  return u === undefined && g === undefined ? undefined : r;
}

export interface WriteFilesOptions {
  runner: Runner;
  stack: EventStack;
  /** The `write_files` config value (mapping or list). */
  files: unknown;
  /** The target root; every path is confined to it. */
  target: string;
}

/**
 * Writes `write_files` into `target`. Validates every entry before writing the first
 * (`ValidationError`), then for each entry, as a Runner `write` step: resolves the path
 * inside the target (a `..` or a symlink cannot lead out of it), creates parent
 * directories (0755), writes or appends the content, sets owner then mode (chown would
 * clear setuid bits). Owner names come from the target's /etc/passwd and /etc/group.
 * Entries without a path are skipped and mark the stack WARN (curtin's behaviour).
 */
export async function writeFiles(opts: WriteFilesOptions): Promise<void> {
  const { entries, skipped } = parseWriteFiles(opts.files);
  if (skipped.length > 0) opts.stack.warn();
  const target = path.resolve(opts.target);
  for (const e of entries) {
    const shown = path.join(target, ...e.path.split('/').filter((c) => c !== ''));
    const own = e.owner ? ` ${e.owner.user ?? ''}:${e.owner.group ?? ''}` : '';
    await opts.runner.action(
      {
        kind: 'write',
        path: shown,
        description: `${e.where} (${e.append ? 'append, ' : ''}${e.content.length} bytes, mode ${e.mode.toString(8).padStart(4, '0')}${own})`,
      },
      () => writeOne(target, e),
    );
  }
}

async function writeOne(target: string, e: WriteFileEntry): Promise<void> {
  const ids = e.owner ? await resolveOwner(target, e.owner, e.where) : undefined;
  const file = await resolveInTarget(target, e.path, { followFinal: true });
  if (file === target)
    throw new PxmError(`${e.where}/path: ${e.path} names the target root itself`);
  await mkdirInTarget(target, path.dirname(file), e.where);
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_NOFOLLOW |
    (e.append ? constants.O_APPEND : constants.O_TRUNC);
  let fh;
  try {
    fh = await open(file, flags, e.mode);
  } catch (err) {
    throw new PxmError(
      `${e.where}: cannot write ${e.path} in the target: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    await fh.writeFile(e.content);
    if (ids) await fh.chown(ids.uid, ids.gid);
    await fh.chmod(e.mode);
  } finally {
    await fh.close();
  }
}

/** mkdir -p for a path already resolved inside the target; refuses to go through files. */
async function mkdirInTarget(target: string, dir: string, where: string): Promise<void> {
  const rel = path.relative(target, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new PxmError(`${where}: resolved outside the target`);
  let cur = target;
  for (const part of rel.split(path.sep).filter((p) => p !== '')) {
    cur = path.join(cur, part);
    try {
      const st = await lstat(cur);
      if (!st.isDirectory())
        throw new PxmError(`${where}: ${path.relative(target, cur)} exists and is not a directory`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(cur, { mode: 0o755 });
    }
  }
}

/** Looks up `user`/`group` names in the target's passwd/group files; numbers pass through. */
export async function resolveOwner(
  target: string,
  owner: { user?: string; group?: string },
  where: string,
): Promise<{ uid: number; gid: number }> {
  const uid = owner.user === undefined ? -1 : await lookupId(target, 'passwd', owner.user, where);
  const gid = owner.group === undefined ? -1 : await lookupId(target, 'group', owner.group, where);
  return { uid, gid };
}

async function lookupId(
  target: string,
  db: 'passwd' | 'group',
  name: string,
  where: string,
): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const file = await resolveInTarget(target, `/etc/${db}`, { followFinal: true });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new PxmError(
      `${where}/owner: cannot resolve ${db === 'passwd' ? 'user' : 'group'} ${JSON.stringify(name)}: the target has no /etc/${db}`,
    );
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  throw new PxmError(
    `${where}/owner: ${db === 'passwd' ? 'user' : 'group'} ${JSON.stringify(name)} not found in the target's /etc/${db}`,
  );
}
