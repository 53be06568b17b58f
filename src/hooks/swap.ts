// swap: `swap: {filename: /swap.img, size: 2G | auto | 0, maxsize}` makes a swap file in
// the target (fallocate + mkswap on the file under the target root) and adds it to
// /etc/fstab. No `swap:` key, or size 0, means no swap file (curtin's automatic size
// without a key is not copied: pxm only adds what the config asks for).
import { totalmem } from 'node:os';
import path from 'node:path';
import { parseSize } from '../storage/size.js';
import { ValidationError } from '../util/errors.js';
import type { HookModule } from './types.js';
import { mapping, readTargetFile, targetPath, writeTargetFile } from './target-files.js';

export interface SwapPlan {
  filename: string;
  bytes: number;
}

const GiB = 1024 ** 3;

/** curtin's rule of thumb for `auto`: about the RAM size, between 512 MiB and 8 GiB. */
export function autoSwapBytes(memBytes: number, max = 8 * GiB): number {
  return Math.min(max, Math.max(512 * 1024 ** 2, Math.round(memBytes / GiB) * GiB));
}

export function planSwap(swap: unknown, memBytes = totalmem()): SwapPlan | undefined {
  if (swap === undefined || swap === null) return undefined;
  const s = mapping(swap);
  if (!s) throw new ValidationError('swap', 'must be a mapping {filename, size, maxsize}');
  const filename = s.filename ?? '/swap.img';
  if (
    typeof filename !== 'string' ||
    !path.isAbsolute(filename) ||
    filename.split('/').includes('..')
  )
    throw new ValidationError('swap/filename', 'must be an absolute path without ..');
  const max = s.maxsize === undefined ? 8 * GiB : parseSize(s.maxsize);
  if (max === undefined)
    throw new ValidationError('swap/maxsize', `not a size: ${String(s.maxsize)}`);
  if (s.size === undefined || s.size === 'auto')
    return { filename, bytes: autoSwapBytes(memBytes, max) };
  if (s.size === 0 || s.size === '0') return undefined;
  const bytes = parseSize(s.size);
  if (bytes === undefined || bytes < 40960)
    throw new ValidationError('swap/size', `not a usable size: ${String(s.size)}`);
  return { filename, bytes: Math.min(bytes, max) };
}

export const swapHook: HookModule = {
  name: 'swap',
  description: 'creating the swap file',
  keys: ['swap'],
  validate: (config) => void planSwap(config.swap),
  async run(ctx) {
    const plan = planSwap(ctx.config.swap);
    if (!plan) {
      ctx.log('swap: no swap file configured');
      return;
    }
    const file = await targetPath(ctx.target, plan.filename);
    await ctx.runner.run({
      argv: ['fallocate', '-l', String(plan.bytes), file],
      description: 'swap file',
    });
    await ctx.runner.run({ argv: ['chmod', '600', file], description: 'swap file mode' });
    await ctx.runner.run({ argv: ['mkswap', file], description: 'swap signature' });
    const fstab = (await readTargetFile(ctx.target, '/etc/fstab')) ?? '';
    if (!fstab.split('\n').some((l) => l.trim().split(/\s+/)[0] === plan.filename)) {
      const sep = fstab === '' || fstab.endsWith('\n') ? '' : '\n';
      await writeTargetFile(
        ctx.runner,
        ctx.target,
        '/etc/fstab',
        `${fstab}${sep}${plan.filename} none swap sw 0 0\n`,
        { description: 'swap file in fstab' },
      );
    }
  },
};
