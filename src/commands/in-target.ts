import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import { ValidationError } from '../util/errors.js';

export default class InTarget extends PxmCommand {
  static override description =
    'Run a command chrooted into the target, with /dev /proc /sys /run bound, services blocked and resolv.conf copied; all undone afterwards';
  static override strict = false;
  static override flags = {
    target: Flags.string({ char: 't', description: 'target root (default: $TARGET_MOUNT_POINT)' }),
    'allow-daemons': Flags.boolean({
      char: 'a',
      description: 'do not block service starts (policy-rc.d)',
    }),
  };
  static override examples = ['<%= config.bin %> in-target --target /srv/root -- apt-get update'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(InTarget);
    const { Runner } = await import('../runner/runner.js');
    const { inTarget } = await import('../target/in-target.js');
    const target = flags.target ?? process.env.TARGET_MOUNT_POINT;
    if (!target)
      throw new ValidationError(
        'in-target',
        'no target: give --target DIR (or set TARGET_MOUNT_POINT)',
      );
    const runner = new Runner({
      output: {
        write: (chunk, stream) =>
          (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
      },
    });
    const r = await inTarget({
      target,
      argv: argv as string[],
      runner,
      allowDaemons: flags['allow-daemons'],
      allowFailure: true,
    });
    process.exitCode = r.exitCode;
  }
}
