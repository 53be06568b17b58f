// Resolving a path inside the target as if the target were `/` (chroot semantics).
//
// Configs and images are not trusted to stay inside the target: `../../etc/shadow`
// is clamped at the target root, and a symlink in the target (`etc -> /etc`, or
// `x -> ../../..`) is followed relative to the target, never to the host. Missing
// components are allowed (they will be created).
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { PxmError } from '../util/errors.js';

const MAX_SYMLINKS = 40;

/**
 * Returns the host path for `inTarget` (absolute or relative to the target root).
 * `followFinal`: also resolve a symlink in the last component (what open() would do).
 */
export async function resolveInTarget(
  root: string,
  inTarget: string,
  opts: { followFinal?: boolean } = {},
): Promise<string> {
  const base = path.resolve(root);
  const resolved: string[] = [];
  const queue = split(inTarget);
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(base, ...resolved, part);
    // Always re-check: after `..` the path may be back among existing entries.
    let st;
    try {
      st = await lstat(candidate);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    }
    if (st?.isSymbolicLink() && (queue.length > 0 || opts.followFinal)) {
      if (++hops > MAX_SYMLINKS)
        throw new PxmError(`${inTarget}: too many levels of symbolic links in the target`);
      const link = await readlink(candidate);
      if (link.startsWith('/')) resolved.length = 0;
      queue.unshift(...split(link));
      continue;
    }
    resolved.push(part);
  }
  return path.join(base, ...resolved);
}

function split(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}
