// Entry point of the CLI and of the one-file bundle (scripts/build.mjs).
//
// oclif normally discovers commands by scanning a directory and reading package.json
// from disk. Neither exists when the bundle runs from an empty directory (the packed
// installer, the ephemeral image), so discovery is explicit: COMMANDS is the whole
// command table and the package metadata is compiled in.
import { run, flush, handle } from '@oclif/core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pjsonBase from '../package.json' with { type: 'json' };
import { COMMANDS } from './commands/index.js';

export { COMMANDS };

/** Path of the file that holds this module: the bundle, or src/main.ts under tsx. */
export function selfPath(): string {
  return fileURLToPath(import.meta.url);
}

export async function main(argv: string[]): Promise<void> {
  // An HTTP worker of `pxm server` under the development launcher (the bundle's entry,
  // src/bin.ts, checks this before loading the CLI).
  if (process.env.PXM_HTTP_WORKER !== undefined && process.send) {
    const { runHttpWorker } = await import('./server/workers/worker.js');
    await runHttpWorker();
    return;
  }
  const self = selfPath();
  const root = path.dirname(self);
  const pjson = {
    ...pjsonBase,
    oclif: {
      ...pjsonBase.oclif,
      commands: {
        strategy: 'explicit',
        target: './' + path.basename(self),
        identifier: 'COMMANDS',
      },
    },
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oclif's PJSON type is wider than our literal
    await run(argv, { root, pjson: pjson as any });
    await flush();
  } catch (error) {
    await handle(error as Error);
  }
}
