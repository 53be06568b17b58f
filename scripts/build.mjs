// Builds dist/pxm.cjs: the whole CLI in one file that runs with no node_modules.
// CommonJS output, because oclif loads the command table by require()-ing this very
// file (explicit discovery) and a CJS self-require returns the already-built exports.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';

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
    // import() of built-ins and externals becomes a require() wrapped in a promise: the
    // bundle is compiled by vm.compileFunction (lazyShell below), where a real import()
    // needs an experimental loader flag. Everything pxm imports dynamically is CommonJS
    // or a node: built-in.
    supported: { 'dynamic-import': false },
    external: [
      // oclif can load TypeScript for development plugins; pxm never needs it (10 MB, 400 ms).
      'typescript',
      // Native addon: cannot live in a one-file bundle; only the server store loads it.
      'better-sqlite3',
      // ssh2's optional native speed-up.
      'cpu-features',
    ],
  });
  await writeFile(tmp, lazyShell(await readFile(tmp, 'utf8')));
  await rename(tmp, outfile);
  return outfile;
}

/**
 * Wraps the bundle so that Node does not parse 1.7 MB of JavaScript before it is needed.
 * V8 only scans a string literal, where it must pre-parse a function body; the code is
 * compiled (vm.compileFunction, in this module's own scope: same exports, require and
 * __filename, so oclif's self-require still finds COMMANDS) only when a real command runs.
 * `pxm --version` is answered from the shell alone: half of pxm's start-up time
 * (docs/benchmarks/startup.md). The line matches what the CLI prints (src/bin.ts).
 */
function lazyShell(code) {
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return [
    '"use strict";',
    'const a = process.argv.slice(2);',
    'if (a.length === 1 && (a[0] === "--version" || a[0] === "-v" || a[0] === "version")) {',
    `  process.stdout.write(${JSON.stringify(`${pjson.name}/${pjson.version} `)} + process.platform + "-" + process.arch + " node-" + process.version + "\\n");`,
    '} else {',
    `  require("vm").compileFunction(${JSON.stringify(code)}, ["exports", "require", "module", "__filename", "__dirname"], { filename: __filename })(exports, require, module, __filename, __dirname);`,
    '}',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildBundle();
  console.log(`built ${path.relative(root, out)}`);
}
