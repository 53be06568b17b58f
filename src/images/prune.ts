// Drops cache entries no build can hit again: images and roots made by an older builder
// revision (every revision bump would otherwise leave ~250 MB + ~330 MB behind on CI
// machines). Entries of other suites, mirrors or package lists are kept: they are
// still valid for whoever asks for them.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUILDER_REVISION, ROOT_REVISION } from './inputs.js';
import { readManifest } from './manifest.js';

/** Written beside roots/<key>.tar.zst so pruning can tell its revision. */
export async function writeRootInfo(tarball: string): Promise<void> {
  await writeFile(`${tarball}.json`, `${JSON.stringify({ rootRevision: ROOT_REVISION })}\n`);
}

export async function pruneCache(cacheDir: string): Promise<string[]> {
  const removed: string[] = [];
  const images = path.join(cacheDir, 'images');
  for (const name of await readdir(images).catch(() => [] as string[])) {
    if (name.endsWith('.lock')) continue;
    const m = await readManifest(path.join(images, name));
    if (m && m.versions.builderRevision < BUILDER_REVISION) {
      await rm(path.join(images, name), { recursive: true, force: true });
      removed.push(path.join(images, name));
    }
  }
  const roots = path.join(cacheDir, 'roots');
  for (const name of await readdir(roots).catch(() => [] as string[])) {
    if (!name.endsWith('.tar.zst.json')) continue;
    const info = JSON.parse(await readFile(path.join(roots, name), 'utf8').catch(() => '{}')) as {
      rootRevision?: number;
    };
    if (typeof info.rootRevision === 'number' && info.rootRevision < ROOT_REVISION) {
      const tarball = path.join(roots, name.slice(0, -'.json'.length));
      await rm(tarball, { force: true });
      await rm(path.join(roots, name), { force: true });
      removed.push(tarball);
    }
  }
  return removed;
}
