import { PxmCommand } from '../cli/base-command.js';

/** What the `curtin` shim on a stage command's PATH runs. Hidden: not for humans. */
export default class Curtin extends PxmCommand {
  static override description =
    'curtin-compatible subcommands for stage commands (in-target, extract, block-meta, ...)';
  static override hidden = true;
  static override strict = false;
  // Everything after `curtin` belongs to the curtin subcommand, flags included.
  static override flags = {};

  async run(): Promise<void> {
    // Parsed only so oclif knows it was (strict: false keeps every argument as given).
    const argv = [...this.argv];
    await this.parse(Curtin, ['--', ...argv]);
    const { runCurtinCompat } = await import('../stages/curtin-compat.js');
    const code = await runCurtinCompat(argv, {
      env: process.env,
      output: {
        write: (chunk, stream) =>
          (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
      },
    });
    process.exitCode = code;
  }
}
