// A minimal ustar (POSIX.1-1988) archive writer for the installer payload.
//
// Why not the `tar` package: the payload must be byte-identical for the same inputs,
// and a writer this small makes every header byte explicit (fixed mtime, owner 0:0,
// names "root", no pax extended headers, no atime/ctime). GNU tar and busybox tar both
// read plain ustar.

export interface TarFile {
  kind: 'file';
  /** Relative path inside the archive, '/'-separated, no leading '/' and no '..'. */
  path: string;
  mode: number;
  data: Buffer;
}
export interface TarDir {
  kind: 'dir';
  path: string;
  mode: number;
}
export interface TarSymlink {
  kind: 'symlink';
  path: string;
  target: string;
}
export type TarEntry = TarFile | TarDir | TarSymlink;

const BLOCK = 512;
/** GNU tar's default record: 20 blocks. Readers accept shorter, but this is the norm. */
const RECORD = 20 * BLOCK;

/** Splits a path into ustar's prefix (155 bytes) and name (100 bytes) fields. */
export function splitUstarName(p: string): { prefix: string; name: string } {
  if (Buffer.byteLength(p) <= 100) return { prefix: '', name: p };
  // Try each '/' as the split point, preferring the longest name that fits.
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') {
      return { prefix, name };
    }
  }
  throw new Error(`path too long for a ustar archive (max 255 bytes, split at '/'): ${p}`);
}

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  const s = value.toString(8);
  if (s.length > width - 1)
    throw new Error(`value ${value} does not fit a ${width}-byte tar field`);
  return s.padStart(width - 1, '0');
}

function header(entry: TarEntry, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const path = entry.kind === 'dir' ? `${entry.path.replace(/\/$/, '')}/` : entry.path;
  const { prefix, name } = splitUstarName(path);
  const mode = entry.kind === 'symlink' ? 0o777 : entry.mode & 0o7777;
  const typeflag = entry.kind === 'file' ? '0' : entry.kind === 'dir' ? '5' : '2';
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum is computed with this field as spaces
  h.write(typeflag, 156, 'ascii');
  if (entry.kind === 'symlink') {
    if (Buffer.byteLength(entry.target) > 100) {
      throw new Error(`symlink target too long for ustar: ${entry.path} -> ${entry.target}`);
    }
    h.write(entry.target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(octal(0, 8), 329, 'ascii');
  h.write(octal(0, 8), 337, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${octal(sum, 7)}\0 `, 148, 'ascii');
  return h;
}

export interface UstarOptions {
  mtime?: number;
  /** Write the end-of-archive blocks and record padding (default true). */
  end?: boolean;
  /** Bytes of archive already written before this part (for the record padding). */
  startOffset?: number;
}

/**
 * Writes the entries in the order given (callers sort them) with one fixed mtime.
 * Owner and group are always 0/root: the installer runs as root and owns what it unpacks.
 * An archive can be written in parts (end: false, then startOffset) whose concatenation
 * is one archive: the payload compresses each part differently.
 */
export function writeUstar(entries: readonly TarEntry[], opts: UstarOptions = {}): Buffer {
  const mtime = opts.mtime ?? 0;
  const parts: Buffer[] = [];
  let length = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  for (const entry of entries) {
    const data = entry.kind === 'file' ? entry.data : Buffer.alloc(0);
    push(header(entry, data.length, mtime));
    if (data.length > 0) {
      push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) push(Buffer.alloc(pad));
    }
  }
  if (opts.end ?? true) {
    push(Buffer.alloc(2 * BLOCK)); // end-of-archive marker
    const total = (opts.startOffset ?? 0) + length;
    const tail = (RECORD - (total % RECORD)) % RECORD;
    if (tail) push(Buffer.alloc(tail));
  }
  return Buffer.concat(parts, length);
}
