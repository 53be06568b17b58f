// Locates the one-file pxm bundle to put into an installer.
//
// Same self-path mechanism as src/main.ts: in the bundle, import.meta.url is the
// bundle's own URL (scripts/build.mjs defines it so), so a running bundle packs
// exactly itself. From sources (tsx, vitest) this module is src/pack/bundle.ts and
// the bundle is the built dist/pxm.cjs.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { PxmError } from '../util/errors.js';

export function runningBundlePath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.cjs')) return here;
  const built = path.resolve(path.dirname(here), '../../dist/pxm.cjs');
  if (!existsSync(built)) {
    throw new PxmError(`pxm bundle not found at ${built}`, { hint: 'run `npm run build` first' });
  }
  return built;
}
