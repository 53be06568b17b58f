import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';

export default class ApiKey extends PxmCommand {
  static override description = "Print the server's admin API key (run on the server, as root)";
  static override flags = {
    'data-dir': Flags.string({
      description: "the server's state directory",
      default: '/var/lib/pxm',
    }),
  };
  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { readApiKey } = await import('../server/server.js');
    const { flags } = await this.parse(ApiKey);
    process.stdout.write(readApiKey(flags['data-dir']) + '\n');
  }
}
