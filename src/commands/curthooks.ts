import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import type { ConfigInput } from '../config/load.js';
import type { ConfigMap } from '../config/merge.js';
import { ValidationError } from '../util/errors.js';

/**
 * curtin's `curthooks`: the target customisation modules (fstab, hostname, network,
 * pinning, apt, swap, kernel, cloud-config, initramfs, bootloader; docs/curthooks.md) on a
 * mounted target. In an install's stage commands everything comes from the contract
 * environment (TARGET_MOUNT_POINT, CONFIG, OUTPUT_FSTAB, OUTPUT_NETWORK_CONFIG).
 */
export default class Curthooks extends PxmCommand {
  static override description =
    'Configure an installed target (curtin curthooks): fstab, hostname, network, apt, swap, kernel, cloud-init, initramfs, grub';
  static override examples = [
    '<%= config.bin %> curthooks --target /target --config install.yaml --fstab /tmp/fstab',
    '<%= config.bin %> curthooks --dry-run    # in a stage command: list what would change',
  ];
  static override flags = {
    target: Flags.string({ char: 't', description: 'target root (default: $TARGET_MOUNT_POINT)' }),
    config: Flags.string({
      char: 'c',
      multiple: true,
      description: 'install config file (repeatable, merged in order); default: $CONFIG',
    }),
    fstab: Flags.string({ description: 'fstab from the storage stage (default: $OUTPUT_FSTAB)' }),
    'network-config': Flags.string({
      description: 'network config from the network stage (default: $OUTPUT_NETWORK_CONFIG)',
    }),
    'dry-run': Flags.boolean({ description: 'print the steps, change nothing' }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { Runner, formatStep } = await import('../runner/runner.js');
    const { Reporter } = await import('../report/events.js');
    const { workingPaths } = await import('../stages/context.js');
    const { runCurthooks } = await import('../hooks/index.js');
    const { flags } = await this.parse(Curthooks);
    const target = flags.target ?? process.env.TARGET_MOUNT_POINT;
    if (!target)
      throw new ValidationError(
        'curthooks',
        'no target: give --target DIR (or set TARGET_MOUNT_POINT)',
      );
    const config = await this.loadInstallConfig(flags.config);
    const scratch = await mkdtemp(path.join(tmpdir(), 'pxm-curthooks-'));
    try {
      const paths = {
        ...workingPaths(scratch),
        fstab: flags.fstab ?? process.env.OUTPUT_FSTAB ?? path.join(scratch, 'no-fstab'),
        networkConfig:
          flags['network-config'] ??
          process.env.OUTPUT_NETWORK_CONFIG ??
          path.join(scratch, 'no-network-config'),
      };
      const runner = new Runner({
        dryRun: flags['dry-run'],
        onStep: flags['dry-run'] ? (s) => this.log(formatStep(s)) : undefined,
        output: {
          write: (chunk, stream) =>
            (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
        },
      });
      const reporter = new Reporter([], 'pxm');
      const stack = reporter.stack(process.env.CURTIN_REPORTSTACK ?? 'curthooks', 'curthooks');
      await stack.run((s) =>
        runCurthooks({
          config,
          target,
          targetIsDirectory: true,
          paths,
          env: {},
          runner,
          stack: s,
          log: (line) => process.stderr.write(`${line}\n`),
          onFinish: () => undefined,
        }),
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async loadInstallConfig(files: string[] | undefined): Promise<ConfigMap> {
    const { loadConfig, loadConfigFile } = await import('../config/load.js');
    if (files?.length) {
      const inputs: ConfigInput[] = files.map((p) => ({ kind: 'file', path: p }));
      return (await loadConfig(inputs)).config;
    }
    const env = process.env.CONFIG;
    return env ? loadConfigFile(env) : {};
  }
}
