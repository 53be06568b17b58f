// fstab: the storage stage's OUTPUT_FSTAB becomes the target's /etc/fstab (as curtin
// does: the file replaces the image's, which only knows the image builder's disks).
import { readFile } from 'node:fs/promises';
import type { HookModule } from './types.js';
import { writeTargetFile } from './target-files.js';

export const fstabHook: HookModule = {
  name: 'fstab',
  description: 'writing /etc/fstab from the storage stage',
  keys: [],
  async run(ctx) {
    let text: string;
    try {
      text = await readFile(ctx.paths.fstab, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      ctx.log('fstab: no OUTPUT_FSTAB (no storage stage); /etc/fstab left as the image has it');
      return;
    }
    await writeTargetFile(ctx.runner, ctx.target, '/etc/fstab', text, {
      description: 'fstab from the storage stage',
    });
  },
};
