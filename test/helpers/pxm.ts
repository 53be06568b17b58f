// Runs the built bundle (dist/pxm.cjs) as a user would, for CLI-level tests.
import { execa, type Options } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bundlePath = path.join(repoRoot, 'dist/pxm.cjs');

export async function pxm(args: string[], opts: Options = {}) {
  return execa(process.execPath, [bundlePath, ...args], { reject: false, ...opts });
}
