import { Args, Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import { configFlags } from '../config/flags.js';

export default class Install extends PxmCommand {
  static override description =
    'Install a machine (or a directory) from curtin configs: early, partitioning, network, extract, curthooks, hook, late';
  static override strict = false;
  static override args = {
    source: Args.string({
      description: 'source to install (path, file://, http(s)://, cp://DIR); repeatable',
    }),
  };
  static override flags = {
    ...configFlags,
    target: Flags.string({
      description: 'install into this directory; skips partitioning, touches no disk',
    }),
    'dry-run': Flags.boolean({ description: 'print the ordered plan and change nothing' }),
    json: Flags.boolean({
      description: 'stream events as JSON lines on stdout (command output goes to stderr)',
    }),
  };
  static override examples = [
    '<%= config.bin %> install --target /tmp/pxm-demo',
    '<%= config.bin %> install -c maas.yaml --target /srv/root http://images/root.tar.xz',
  ];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Install);
    // Loaded here, not at the top: every pxm start (--version, other commands) would
    // otherwise pay for the engine, ajv, tar and undici.
    const { loadConfig, orderedConfigInputs } = await import('../config/load.js');
    const { runInstall } = await import('../stages/engine.js');
    const { demoInput, DEMO_NAME } = await import('../stages/demo.js');
    const { selfCommand } = await import('../stages/shims.js');
    const inputs = orderedConfigInputs(this.argv);
    if (!flags.config?.length) {
      process.stderr.write(`pxm: no --config given: installing the demo config ${DEMO_NAME}\n`);
      inputs.unshift(demoInput());
    }
    const loaded = await loadConfig(inputs, argv as string[]);
    const result = await runInstall({
      loaded,
      target: flags.target,
      dryRun: flags['dry-run'],
      json: flags.json,
      tty: Boolean(process.stderr.isTTY) && !flags.json,
      self: selfCommand(),
    });
    if (result.exitCode !== 0) {
      process.stderr.write(`pxm: install failed: ${result.cause ?? 'unknown error'}\n`);
      if (result.errorTarfile) process.stderr.write(`pxm: error logs: ${result.errorTarfile}\n`);
      process.exitCode = result.exitCode;
    }
  }
}
