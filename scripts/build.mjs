// Builds dist/pxm.cjs: the whole CLI in one file that runs with no node_modules.
// CommonJS output, because oclif loads the command table by require()-ing this very
// file (explicit discovery) and a CJS self-require returns the already-built exports.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { rename } from 'node:fs/promises';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export async function buildBundle({
  outfile = path.join(root, 'dist/pxm.cjs'),
  minify = true,
} = {}) {
  // Written beside the target and renamed: concurrent test runs never see half a file.
  const tmp = `${outfile}.${process.pid}.tmp`;
  await build({
    entryPoints: [path.join(root, 'src/bin.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify,
    legalComments: 'none',
    logLevel: 'warning',
    // ESM sources and dependencies use import.meta.url; in the CJS bundle it is the bundle's own URL.
    banner: {
      js: '"use strict";const __pxm_import_meta_url=require("url").pathToFileURL(__filename).href;',
    },
    define: { 'import.meta.url': '__pxm_import_meta_url' },
    external: [
      // oclif can load TypeScript for development plugins; pxm never needs it (10 MB, 400 ms).
      'typescript',
      // Native addon: cannot live in a one-file bundle; only the server store loads it.
      'better-sqlite3',
      // ssh2's optional native speed-up.
      'cpu-features',
    ],
  });
  await rename(tmp, outfile);
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildBundle();
  console.log(`built ${path.relative(root, out)}`);
}
