// initramfs: the one initramfs build of the install, after everything that affects it
// (fstab, network, the kernel and grub packages, whose own update-initramfs calls were
// deferred by initramfs-defer.ts). `update-initramfs -u -k all` when every kernel has an
// initramfs; a kernel without one (just installed under the deferral) gets `-c -k VER`.
import { readdir } from 'node:fs/promises';
import { inTarget } from '../target/in-target.js';
import type { HookModule } from './types.js';
import { existsInTarget, targetPath } from './target-files.js';

/** Pure: the update-initramfs runs for the kernels and initramfs images in /boot. */
export function planInitramfs(boot: readonly string[]): string[][] {
  const versions = (prefix: string) =>
    boot.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
  const kernels = versions('vmlinuz-');
  const initrds = new Set(versions('initrd.img-'));
  const missing = kernels.filter((v) => !initrds.has(v));
  if (!missing.length) return [['update-initramfs', '-u', '-k', 'all']];
  // -u -k all would rebuild the new ones again: update the others one by one instead.
  return [
    ...missing.map((v) => ['update-initramfs', '-c', '-k', v]),
    ...kernels.filter((v) => initrds.has(v)).map((v) => ['update-initramfs', '-u', '-k', v]),
  ];
}

export const initramfsHook: HookModule = {
  name: 'initramfs',
  description: 'updating the initramfs',
  keys: [],
  async run(ctx) {
    if (!(await existsInTarget(ctx.target, '/usr/sbin/update-initramfs'))) {
      ctx.log('initramfs: target has no update-initramfs; skipped');
      return;
    }
    let boot: string[] = [];
    try {
      boot = await readdir(await targetPath(ctx.target, '/boot'));
    } catch {
      // no /boot: -u -k all says there is nothing to do
    }
    for (const argv of planInitramfs(boot))
      await inTarget({ target: ctx.target, runner: ctx.runner, argv });
  },
};
