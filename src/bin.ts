// Bundle entry: run the CLI with this process's arguments.
//
// `pxm --version` is answered here, before oclif or any command module is loaded: that
// is most of the start-up cost (docs/benchmarks/startup.md). Everything else loads the
// CLI through a dynamic import, which esbuild turns into a lazy initialiser, so the
// module graph is evaluated only when a real command runs.
import pjson from '../package.json' with { type: 'json' };
import type { COMMANDS as CommandTable } from './commands/index.js';

/**
 * The command table, for oclif's explicit discovery: oclif require()s this very bundle
 * and reads COMMANDS from it. It is assigned before oclif runs (esbuild exports are live
 * bindings), so the self-require sees the table without loading it eagerly here.
 */
export let COMMANDS: typeof CommandTable | undefined;

/** Arguments that only ask for the version (oclif prints its user agent for `--version`). */
const VERSION_ARGS = new Set(['--version', '-v', 'version']);

/** Same line oclif prints for `--version` (Config.userAgent). */
export function versionLine(): string {
  return `${pjson.name}/${pjson.version} ${process.platform}-${process.arch} node-${process.version}`;
}

async function start(argv: string[]): Promise<void> {
  // An HTTP worker of `pxm server` (src/server/workers/): no CLI, no oclif.
  if (process.env.PXM_HTTP_WORKER !== undefined && process.send) {
    const { runHttpWorker } = await import('./server/workers/worker.js');
    await runHttpWorker();
    return;
  }
  if (argv.length === 1 && VERSION_ARGS.has(argv[0] ?? '')) {
    process.stdout.write(versionLine() + '\n');
    return;
  }
  const cli = await import('./main.js');
  COMMANDS = cli.COMMANDS;
  await cli.main(argv);
}

void start(process.argv.slice(2));
