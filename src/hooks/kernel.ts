// kernel: `kernel: {package: NAME, fallback-package: NAME}` installs that package in the
// target (apt-get in-target; the fallback when the first fails). Without `kernel:` the
// target is left alone (a warning on disk installs when /boot has no kernel: it will not boot).
// update-initramfs is deferred while the package installs (initramfs-defer.ts): the
// initramfs module builds the new kernel's initramfs once, after all package installs.
import { readdir } from 'node:fs/promises';
import { ValidationError } from '../util/errors.js';
import { inTarget } from '../target/in-target.js';
import type { HookModule } from './types.js';
import { mapping, targetPath } from './target-files.js';
import { withInitramfsDeferred } from './initramfs-defer.js';

export function parseKernel(v: unknown): { package?: string; fallback?: string } | undefined {
  if (v === undefined || v === null) return undefined;
  const k = mapping(v);
  if (!k) throw new ValidationError('kernel', 'must be a mapping {package, fallback-package}');
  const pkg = (key: string): string | undefined => {
    const p = k[key];
    if (p === undefined || p === null) return undefined;
    if (typeof p !== 'string' || !/^[a-z0-9][a-z0-9+.-]+$/.test(p))
      throw new ValidationError(`kernel/${key}`, `not a package name: ${JSON.stringify(p)}`);
    return p;
  };
  return { package: pkg('package'), fallback: pkg('fallback-package') };
}

export async function installedKernels(target: string): Promise<string[]> {
  try {
    return (await readdir(await targetPath(target, '/boot'))).filter((f) =>
      f.startsWith('vmlinuz-'),
    );
  } catch {
    return [];
  }
}

export const kernelHook: HookModule = {
  name: 'kernel',
  description: 'installing the kernel',
  keys: ['kernel'],
  validate: (config) => void parseKernel(config.kernel),
  async run(ctx) {
    const k = parseKernel(ctx.config.kernel);
    const have = await installedKernels(ctx.target);
    if (!k?.package && !k?.fallback) {
      // Without kernel: pxm installs nothing (a directory target may have no apt at all).
      ctx.log(
        have.length
          ? `kernel: target has ${have.join(', ')}; no kernel: package asked; left alone`
          : 'kernel: warning: target has no kernel in /boot and no kernel: package is configured',
      );
      // Only a disk install must boot; a --target directory (a container or chroot root,
      // the usual CI case) legitimately has no kernel.
      if (!have.length && ctx.config.storage !== undefined) ctx.stack.warn();
      return;
    }
    const wanted = (k.package ?? k.fallback) as string;
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const apt = (pkg: string, allowFailure: boolean) =>
      inTarget({
        target: ctx.target,
        runner: ctx.runner,
        env,
        allowFailure,
        argv: ['apt-get', 'install', '-y', '--no-install-recommends', pkg],
      });
    await withInitramfsDeferred(ctx, async () => {
      const r = await apt(wanted, Boolean(k?.fallback && wanted !== k.fallback));
      if (r.exitCode !== 0 && k?.fallback) {
        ctx.log(`kernel: ${wanted} failed; trying fallback-package ${k.fallback}`);
        await apt(k.fallback, false);
      }
    });
  },
};
