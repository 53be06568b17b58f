// File access inside the target for curthooks modules: every path is resolved inside the
// target root (its own symlinks cannot point a write at the host) and every write is a
// Runner step, so --dry-run lists it and performs nothing.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import { PxmError } from '../util/errors.js';
import { resolveInTarget, existsInTarget } from '../net/index.js';

export { existsInTarget };

/** Host path of `rel` inside the target, symlinks resolved within the target. */
export async function targetPath(root: string, rel: string): Promise<string> {
  const resolved = await resolveInTarget(root, rel);
  if (!resolved) throw new PxmError(`${rel}: symlink loop in the target`);
  return path.join(root, resolved.path);
}

export async function readTargetFile(root: string, rel: string): Promise<string | undefined> {
  try {
    return await readFile(await targetPath(root, rel), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeTargetFile(
  runner: Runner,
  root: string,
  rel: string,
  content: string,
  opts: { mode?: number; description: string },
): Promise<void> {
  const mode = opts.mode ?? 0o644;
  await runner.action(
    { kind: 'write', path: path.join(root, rel), description: opts.description },
    async () => {
      const real = await targetPath(root, rel);
      await mkdir(path.dirname(real), { recursive: true });
      await writeFile(real, content, { mode });
      await chmod(real, mode);
    },
  );
}

/** A plain mapping (not null, not a list), or undefined. */
export function mapping(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}
