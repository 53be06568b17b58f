import { Args, Flags } from '@oclif/core';
import { PxmCommand } from '../../cli/base-command.js';
import { configFlags } from '../../config/flags.js';

export default class ConfigValidate extends PxmCommand {
  static override description =
    'Check the merged install configuration as pxm install would (exit 2 naming file and key path on error)';
  static override strict = false;
  static override args = { source: Args.string({ description: 'sources, as for pxm install' }) };
  static override flags = {
    ...configFlags,
    target: Flags.string({
      description: 'validate for an install into this directory (partitioning skipped)',
    }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(ConfigValidate);
    const { loadConfig, orderedConfigInputs } = await import('../../config/load.js');
    const { validateConfig } = await import('../../config/validate.js');
    const { checkSupported } = await import('../../stages/capabilities.js');
    const { installModules } = await import('../../stages/modules.js');
    const { planStages } = await import('../../stages/plan.js');
    const inputs = orderedConfigInputs(this.argv);
    const { config, provenance } = await loadConfig(inputs, argv as string[]);
    validateConfig(config, provenance);
    const targetIsDirectory = flags.target !== undefined;
    const stages = planStages(config, { targetIsDirectory });
    checkSupported(config, provenance, stages, installModules, { targetIsDirectory });
    const files = inputs.filter((i) => i.kind === 'file').length;
    process.stdout.write(
      `ok: config valid (${files} file${files === 1 ? '' : 's'}, ${stages.length} stages)\n`,
    );
  }
}
