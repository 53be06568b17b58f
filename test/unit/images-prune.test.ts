import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pruneCache } from '../../src/images/prune.js';
import { BUILDER_REVISION, ROOT_REVISION } from '../../src/images/inputs.js';

async function image(cache: string, key: string, builderRevision: number) {
  await mkdir(path.join(cache, 'images', key), { recursive: true });
  const manifest = { format: 'pxm-ephemeral/1', key, versions: { builderRevision } };
  await writeFile(path.join(cache, 'images', key, 'manifest.json'), JSON.stringify(manifest));
}

describe('image cache pruning', () => {
  it('drops images and roots of older builder revisions only', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'pxm-prune-'));
    try {
      await image(cache, 'old', BUILDER_REVISION - 1);
      await image(cache, 'current', BUILDER_REVISION);
      await mkdir(path.join(cache, 'images', 'incomplete'));
      await mkdir(path.join(cache, 'roots'));
      for (const [key, rev] of [
        ['oldroot', ROOT_REVISION - 1],
        ['root', ROOT_REVISION],
      ] as const) {
        await writeFile(path.join(cache, 'roots', `${key}.tar.zst`), 'x');
        await writeFile(
          path.join(cache, 'roots', `${key}.tar.zst.json`),
          JSON.stringify({ rootRevision: rev }),
        );
      }
      await writeFile(path.join(cache, 'roots', 'unknown.tar.zst'), 'x');
      const removed = await pruneCache(cache);
      expect(removed.map((p) => path.relative(cache, p)).sort()).toEqual([
        'images/old',
        'roots/oldroot.tar.zst',
      ]);
      for (const kept of [
        'images/current',
        'images/incomplete',
        'roots/root.tar.zst',
        'roots/unknown.tar.zst',
      ])
        expect(existsSync(path.join(cache, kept)), kept).toBe(true);
      expect(existsSync(path.join(cache, 'roots/oldroot.tar.zst.json'))).toBe(false);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
