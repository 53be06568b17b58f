import { Args, Flags } from '@oclif/core';
import { PxmCommand } from '../../cli/base-command.js';
import { configFlags } from '../../config/flags.js';

export default class ConfigShow extends PxmCommand {
  static override description =
    'Print the merged install configuration (curtin merge of --config files and --set)';
  static override strict = false;
  static override args = { source: Args.string({ description: 'sources, as for pxm install' }) };
  static override flags = {
    ...configFlags,
    json: Flags.boolean({ description: 'print JSON instead of YAML' }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(ConfigShow);
    const { stringify } = await import('yaml');
    const { loadConfig, orderedConfigInputs } = await import('../../config/load.js');
    const { config } = await loadConfig(orderedConfigInputs(this.argv), argv as string[]);
    process.stdout.write(flags.json ? `${JSON.stringify(config, null, 2)}\n` : stringify(config));
  }
}
