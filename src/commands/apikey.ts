import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import { readApiKey } from '../server/server.js';

export default class ApiKey extends PxmCommand {
  static override description = "Print the server's admin API key (run on the server, as root)";
  static override flags = {
    'data-dir': Flags.string({
      description: "the server's state directory",
      default: '/var/lib/pxm',
    }),
  };
  async run(): Promise<void> {
    const { flags } = await this.parse(ApiKey);
    process.stdout.write(readApiKey(flags['data-dir']) + '\n');
  }
}
