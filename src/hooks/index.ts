// curthooks: the target customisation modules, run in this fixed order (documented in
// docs/curthooks.md). Each runs under its own child event stack of the curthooks
// builtin. Order matters: fstab before swap (swap appends to it), network before pinning,
// the package installs (kernel, grub) before initramfs (their own update-initramfs runs
// are deferred), initramfs once near the end, the bootloader last (grub.cfg must list the
// final kernel and initramfs).
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { StageContext } from '../stages/context.js';
import type { HookModule } from './types.js';
import { fstabHook } from './fstab.js';
import { hostnameHook } from './hostname.js';
import { networkHook, pinningHook } from './network.js';
import { aptHook } from './apt.js';
import { swapHook } from './swap.js';
import { kernelHook } from './kernel.js';
import { cloudConfigHook } from './cloud-config.js';
import { initramfsHook } from './initramfs.js';
import { grubHook, grubPackagesHook } from './grub.js';

export type { HookModule } from './types.js';

export const HOOK_ORDER: readonly HookModule[] = [
  fstabHook,
  hostnameHook,
  networkHook,
  pinningHook,
  aptHook,
  swapHook,
  kernelHook,
  grubPackagesHook,
  cloudConfigHook,
  initramfsHook,
  grubHook,
];

/** Every config key some module honours (capabilities refuse the others). */
export const HOOK_KEYS: readonly string[] = [...new Set(HOOK_ORDER.flatMap((h) => h.keys))];

/** All modules' validation, before the install touches anything. */
export function validateCurthooks(config: Record<string, unknown>): void {
  for (const h of HOOK_ORDER) h.validate?.(config);
}

export async function runCurthooks(ctx: StageContext): Promise<void> {
  // An image's own pxm/hooks replaces the built-in modules (as curtin/curtin-hooks does,
  // which the curthooks builtin already checked for).
  const own = path.join(ctx.target, 'pxm', 'hooks');
  if (await executable(own)) {
    ctx.log("curthooks: running the image's pxm/hooks instead of the built-in modules");
    await ctx.runner.run({ argv: [own], description: "target's pxm/hooks" });
    return;
  }
  validateCurthooks(ctx.config);
  for (const hook of HOOK_ORDER) {
    await ctx.stack.child(hook.name, hook.description).run((stack) => hook.run({ ...ctx, stack }));
  }
}

export const hooksModule = { runCurthooks, validate: validateCurthooks, keys: HOOK_KEYS };

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
