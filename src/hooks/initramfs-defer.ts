// Package installs in the target (kernel, grub) would each run update-initramfs from their
// maintainer scripts and dpkg triggers: minutes apiece under emulation, all thrown away
// by the initramfs module's final run. While they install, /usr/sbin/update-initramfs is
// diverted (dpkg-divert --local --rename, so dpkg also puts an upgraded initramfs-tools'
// copy aside) and replaced by a stub that does nothing; afterwards the stub goes and the
// diversion is removed, also when the install failed. The initramfs module then builds
// every kernel's initramfs once.
import { rm } from 'node:fs/promises';
import { inTarget } from '../target/in-target.js';
import type { StageContext } from '../stages/context.js';
import { errorMessage } from '../util/errors.js';
import { existsInTarget, readTargetFile, targetPath, writeTargetFile } from './target-files.js';

export const UPDATE_INITRAMFS = '/usr/sbin/update-initramfs';
export const DIVERTED_TO = '/usr/sbin/update-initramfs.pxm-real';
const STUB =
  '#!/bin/sh\n# pxm: deferred while packages install; the initramfs module runs the real one once\n' +
  'echo "update-initramfs: deferred by pxm (runs once after the package installs)" >&2\nexit 0\n';

/** Pure: who diverts `file`, from dpkg's diversions database (triples: from, to, package). */
export function diversionOf(diversions: string, file: string): string | undefined {
  const lines = diversions.split('\n');
  for (let i = 0; i + 2 < lines.length; i += 3) if (lines[i] === file) return lines[i + 2];
  return undefined;
}

/** Pure: the dpkg-divert commands around a deferred package install. */
export function divertCommands(): { add: string[]; remove: string[] } {
  const base = ['dpkg-divert', '--local', '--rename', '--divert', DIVERTED_TO];
  return {
    add: [...base, '--add', UPDATE_INITRAMFS],
    remove: [...base, '--remove', UPDATE_INITRAMFS],
  };
}

/** Runs `install` with update-initramfs stubbed out in the target, and always restores it. */
export async function withInitramfsDeferred<T>(
  ctx: StageContext,
  install: () => Promise<T>,
): Promise<T> {
  const run = (argv: string[]) => inTarget({ target: ctx.target, runner: ctx.runner, argv });
  if (!(await existsInTarget(ctx.target, '/usr/bin/dpkg-divert'))) return install();
  const db = (await readTargetFile(ctx.target, '/var/lib/dpkg/diversions')) ?? '';
  const owner = diversionOf(db, UPDATE_INITRAMFS);
  if (owner !== undefined) {
    // Someone else's diversion (the image's own policy): leave it as it is.
    ctx.log(`initramfs: update-initramfs already diverted by ${owner}; not deferring`);
    return install();
  }
  const { add, remove } = divertCommands();
  await run(add);
  const restore = async () => {
    await ctx.runner.action(
      { kind: 'action', description: 'remove the update-initramfs stub' },
      async () => rm(await targetPath(ctx.target, UPDATE_INITRAMFS), { force: true }),
    );
    await run(remove);
  };
  let result: T;
  try {
    await writeTargetFile(ctx.runner, ctx.target, UPDATE_INITRAMFS, STUB, {
      mode: 0o755,
      description: 'update-initramfs stub while packages install',
    });
    result = await install();
  } catch (error) {
    // Restore, but let the install's own error be the one reported.
    await restore().catch((e: unknown) =>
      ctx.log(`initramfs: could not restore update-initramfs: ${errorMessage(e)}`),
    );
    throw error;
  }
  await restore();
  return result;
}
