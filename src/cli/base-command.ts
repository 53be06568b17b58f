// Base class for pxm commands: turns PxmError into a one-line message and its exit
// status, so every command reports failures the same way (docs/exit-codes.md).
import { Command } from '@oclif/core';
import { PxmError, ExitCode } from '../util/errors.js';

export abstract class PxmCommand extends Command {
  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (err instanceof PxmError) {
      process.stderr.write(`pxm: ${err.message}\n`);
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
      process.exitCode = err.exitCode;
      return undefined;
    }
    // oclif's own parse errors (unknown flag, missing arg) are usage errors.
    if (
      err.oclif?.exit === 2 ||
      /Unexpected argument|Nonexistent flag|Missing required flag|Expected --/.test(err.message)
    ) {
      process.stderr.write(`pxm: ${err.message.split('\n')[0]}\n`);
      process.exitCode = ExitCode.INVALID;
      return undefined;
    }
    return super.catch(err);
  }
}
