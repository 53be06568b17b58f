// Mounts a chroot needs (proc, sys, dev, dev/pts, plus bind mounts the caller asks for),
// always undone: a build that fails half-way must leave no mount behind, or the next
// `rm -rf` of the work directory would reach into the host's /dev.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';

export interface BindMount {
  /** Directory on the host. */
  source: string;
  /** Path inside the root (relative or absolute-in-root). */
  target: string;
}

/** Mount points at or below `root`, deepest first (the order to unmount them in). */
export async function mountsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  const base = path.resolve(root);
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((p): p is string => p !== undefined)
    // /proc/self/mounts escapes spaces and friends as octal.
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === base || p.startsWith(`${base}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `root`; a busy mount is detached lazily. */
export async function unmountAllUnder(runner: Runner, root: string): Promise<void> {
  if (runner.dryRun) return;
  for (const point of await mountsUnder(root)) {
    const r = await runner.run({
      argv: ['umount', point],
      description: `unmount ${point}`,
      allowFailure: true,
    });
    if (r.exitCode !== 0)
      await runner.run({
        argv: ['umount', '-l', point],
        description: `detach busy ${point}`,
        allowFailure: true,
      });
  }
}

/** Runs `fn` with the chroot's virtual filesystems mounted; unmounts in `finally`. */
export async function withChrootMounts<T>(
  runner: Runner,
  root: string,
  binds: readonly BindMount[],
  fn: () => Promise<T>,
): Promise<T> {
  const at = (p: string) => path.join(root, p);
  const steps: Array<{ argv: string[]; description: string }> = [
    { argv: ['mount', '-t', 'proc', 'proc', at('proc')], description: 'chroot /proc' },
    { argv: ['mount', '-t', 'sysfs', 'sysfs', at('sys')], description: 'chroot /sys' },
    { argv: ['mount', '--bind', '/dev', at('dev')], description: 'chroot /dev' },
    { argv: ['mount', '--bind', '/dev/pts', at('dev/pts')], description: 'chroot /dev/pts' },
    ...binds.map((b) => ({
      argv: ['mount', '--bind', b.source, at(b.target)],
      description: `bind ${b.source} at ${b.target}`,
    })),
  ];
  try {
    for (const s of steps) await runner.run(s);
    return await fn();
  } finally {
    // Whatever got mounted (also by package scripts inside the chroot) goes, deepest first.
    for (const sub of ['proc', 'sys', 'dev', ...binds.map((b) => b.target)])
      await unmountAllUnder(runner, at(sub));
  }
}
