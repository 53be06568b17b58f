// initramfs: one `update-initramfs -u -k all` at the end (after fstab, network, kernel),
// so the initramfs sees the final config once instead of after every change.
import { inTarget } from '../target/in-target.js';
import type { HookModule } from './types.js';
import { existsInTarget } from './target-files.js';

export const initramfsHook: HookModule = {
  name: 'initramfs',
  description: 'updating the initramfs',
  keys: [],
  async run(ctx) {
    if (!(await existsInTarget(ctx.target, '/usr/sbin/update-initramfs'))) {
      ctx.log('initramfs: target has no update-initramfs; skipped');
      return;
    }
    await inTarget({
      target: ctx.target,
      runner: ctx.runner,
      argv: ['update-initramfs', '-u', '-k', 'all'],
    });
  },
};
