// `in-target`: run a command inside the installed system, as curtin's ChrootableTarget:
// bind-mount /dev /proc /sys /run, forbid service starts with policy-rc.d, copy the
// host's resolv.conf in, chroot. Everything it set up is undone afterwards, also when the
// command fails or the setup itself fails half way.
import {
  access,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  rename,
  rm,
  stat,
  writeFile,
  rmdir,
} from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { CommandResult, Runner } from '../runner/runner.js';
import { PxmError, ValidationError } from '../util/errors.js';
import { mountPoints } from './mounts.js';

export const BIND_MOUNTS = ['/dev', '/proc', '/sys', '/run'] as const;

export interface InTargetOptions {
  target: string;
  argv: readonly string[];
  runner: Runner;
  /** Let package scripts start services (curtin's --allow-daemons). */
  allowDaemons?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

export async function inTarget(opts: InTargetOptions): Promise<CommandResult> {
  if (!opts.argv.length)
    throw new ValidationError('in-target', 'no command given (pxm in-target -- CMD...)');
  const target = await checkTarget(opts.target);
  if (target === '/') {
    // curtin runs the command directly when the target is the running system.
    return opts.runner.run({ argv: opts.argv, env: opts.env, allowFailure: opts.allowFailure });
  }
  const undo: Array<() => Promise<void>> = [];
  let result: CommandResult;
  try {
    await bindMounts(target, opts.runner, undo);
    if (!opts.allowDaemons) await blockDaemons(target, opts.runner, undo);
    await copyResolvConf(target, opts.runner, undo);
    result = await opts.runner.run({
      argv: ['chroot', target, ...opts.argv],
      env: opts.env,
      allowFailure: opts.allowFailure,
      description: 'in-target',
    });
  } catch (error) {
    // Undo first; a cleanup problem must not hide why the command failed.
    await undoAll(undo).catch(() => undefined);
    throw error;
  }
  await undoAll(undo);
  return result;
}

async function checkTarget(dir: string): Promise<string> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new ValidationError(
      `in-target: ${dir}`,
      `target is not a directory (${(error as Error).message})`,
    );
  }
  return realpathSync(dir);
}

async function bindMounts(
  target: string,
  runner: Runner,
  undo: Array<() => Promise<void>>,
): Promise<void> {
  const mounted = new Set(await mountPoints());
  for (const src of BIND_MOUNTS) {
    const dest = path.join(target, src);
    if (mounted.has(dest)) continue; // someone (an outer in-target) already did it
    if (!(await exists(dest))) {
      // A bare target (no /dev yet): make the mount point and remove it afterwards.
      await runner.action({ kind: 'action', description: `mkdir ${dest}` }, () => mkdir(dest));
      undo.push(() => rmdir(dest).catch(() => undefined));
    }
    await runner.run({ argv: ['mount', '--bind', src, dest], description: 'in-target bind mount' });
    undo.push(() => unmount(runner, dest));
  }
}

async function unmount(runner: Runner, dest: string): Promise<void> {
  const r = await runner.run({ argv: ['umount', dest], allowFailure: true, quiet: true });
  // Busy (a daemon the command left behind): detach now, the kernel frees it when idle.
  if (r.exitCode !== 0) await runner.run({ argv: ['umount', '--lazy', dest], allowFailure: true });
}

async function blockDaemons(
  target: string,
  runner: Runner,
  undo: Array<() => Promise<void>>,
): Promise<void> {
  const sbin = path.join(target, 'usr/sbin');
  const file = path.join(sbin, 'policy-rc.d');
  if (!(await exists(sbin)) || (await exists(file))) return; // an existing policy is the image's own
  await runner.action({ kind: 'write', path: file, description: 'forbid service starts' }, () =>
    writeFile(file, '#!/bin/sh\n# written by pxm in-target; removed afterwards\nexit 101\n', {
      mode: 0o755,
    }),
  );
  undo.push(() =>
    runner
      .action({ kind: 'action', description: `rm ${file}` }, () => rm(file, { force: true }))
      .then(() => undefined),
  );
}

async function copyResolvConf(
  target: string,
  runner: Runner,
  undo: Array<() => Promise<void>>,
): Promise<void> {
  const etc = path.join(target, 'etc');
  const rconf = path.join(etc, 'resolv.conf');
  if (!(await exists(etc)) || !(await exists('/etc/resolv.conf'))) return;
  await runner.action(
    { kind: 'write', path: rconf, description: "host's resolv.conf" },
    async () => {
      let saved: string | undefined;
      if (await lexists(rconf)) {
        // Kept inside the target's /etc, so the rename never crosses file systems.
        const dir = await mkdtemp(path.join(etc, '.pxm-resolv-'));
        saved = path.join(dir, 'resolv.conf');
        await rename(rconf, saved);
      }
      undo.push(async () => {
        await rm(rconf, { force: true });
        if (saved) {
          await rename(saved, rconf);
          await rmdir(path.dirname(saved));
        }
      });
      await copyFile('/etc/resolv.conf', rconf);
    },
  );
}

async function undoAll(undo: Array<() => Promise<void>>): Promise<void> {
  const errors: string[] = [];
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  if (errors.length) throw new PxmError(`in-target cleanup: ${errors.join('; ')}`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function lexists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
