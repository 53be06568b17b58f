// The pxm side of the extract benchmark: extract one source into a directory through
// the same API the install engine calls (bundled by run.mjs like dist/pxm.cjs is).
import { Runner } from '../../src/runner/runner.js';
import { Reporter } from '../../src/report/events.js';
import { extractSources } from '../../src/sources/index.js';

async function main(): Promise<void> {
  const [uri, target] = process.argv.slice(2);
  if (!uri || !target) throw new Error('usage: pxm-extract URI TARGET');
  const stack = new Reporter().stack('bench/extract', 'extract');
  await extractSources({ runner: new Runner(), stack, sources: [uri], target });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
