import { Args, Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import type { ConfigInput } from '../config/load.js';
import type { ConfigMap } from '../config/merge.js';
import type { NetMetaMode } from '../net/stage.js';

/**
 * curtin's `net-meta`: writes the network config the installed system gets.
 * Accepts curtin's forms (`curtin net-meta custom`, `curtin net-meta --device=eth0 dhcp`,
 * `-D eth0`), reads the config from --config files or from $CONFIG (as in an install's
 * stage commands) and writes to --output or $OUTPUT_NETWORK_CONFIG; with neither, prints.
 */
export default class NetMeta extends PxmCommand {
  static override description =
    'Write the network config for the installed system (curtin net-meta): custom, dhcp on NICs with carrier, or disabled';

  static override examples = [
    '<%= config.bin %> net-meta custom --config install.yaml --output /tmp/network.yaml',
    '<%= config.bin %> net-meta --device eth0 dhcp',
    '<%= config.bin %> net-meta auto    # custom if the config has network:, else dhcp',
  ];

  static override args = {
    mode: Args.string({
      description: 'auto (default), custom, dhcp or disabled',
      options: ['auto', 'custom', 'dhcp', 'disabled'],
      default: 'auto',
    }),
  };

  static override flags = {
    config: Flags.string({
      char: 'c',
      multiple: true,
      multipleNonGreedy: true,
      description: 'install config file (repeatable, merged in order); default: $CONFIG',
    }),
    output: Flags.string({
      char: 'o',
      description: 'file to write; default: $OUTPUT_NETWORK_CONFIG, else standard output',
    }),
    devices: Flags.string({
      char: 'D',
      aliases: ['device'],
      multiple: true,
      // `--device eth0 dhcp`: the mode after a device is the argument, not a second device.
      multipleNonGreedy: true,
      description: 'dhcp mode: configure these interfaces (repeatable)',
    }),
    'sysfs-root': Flags.string({
      description: 'directory to read instead of /sys/class/net',
      hidden: true,
    }),
    'include-virtual': Flags.boolean({
      description: 'let discovery pick virtual NICs too (veth, dummy, tap): for tests',
      default: false,
    }),
    'dry-run': Flags.boolean({ description: 'print the plan, write nothing', default: false }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { serializeNetworkConfig } = await import('../net/config.js');
    const { planNetworkStage, runNetworkStage } = await import('../net/stage.js');
    const { Runner, formatStep } = await import('../runner/runner.js');
    const { args, flags } = await this.parse(NetMeta);
    const config = await this.loadInstallConfig(flags.config);
    const mode = args.mode as NetMetaMode;
    const common = {
      config,
      mode,
      devices: flags.devices ?? [],
      sysfsRoot: flags['sysfs-root'],
      includeVirtual: flags['include-virtual'],
    };
    const output = flags.output ?? process.env.OUTPUT_NETWORK_CONFIG;
    if (!output) {
      const plan = await planNetworkStage(common);
      for (const w of plan.warnings) process.stderr.write(`pxm: warning: ${w}\n`);
      if (plan.doc.kind !== 'disabled') process.stdout.write(serializeNetworkConfig(plan.doc));
      return;
    }
    const runner = new Runner({
      dryRun: flags['dry-run'],
      onStep: flags['dry-run'] ? (s) => this.log(formatStep(s)) : undefined,
    });
    const result = await runNetworkStage({ ...common, runner, outputNetworkConfig: output });
    for (const w of result.warnings) process.stderr.write(`pxm: warning: ${w}\n`);
    if (!flags['dry-run'])
      this.log(
        result.written
          ? `net-meta ${result.mode}: wrote ${result.written}`
          : 'net-meta: network configuration disabled; nothing written',
      );
  }

  private async loadInstallConfig(files: string[] | undefined): Promise<ConfigMap> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { loadConfig, loadConfigFile } = await import('../config/load.js');
    if (files?.length) {
      const inputs: ConfigInput[] = files.map((path) => ({ kind: 'file', path }));
      return (await loadConfig(inputs)).config;
    }
    // In stage commands CONFIG is the merged config (a JSON file, as curtin writes it).
    const env = process.env.CONFIG;
    return env ? loadConfigFile(env) : {};
  }
}
