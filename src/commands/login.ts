import { Args } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import { ApiClient } from '../client/api.js';
import { saveClientConfig } from '../client/config.js';
import { ValidationError } from '../util/errors.js';

export default class Login extends PxmCommand {
  static override description = 'Save the server URL and API key for `pxm nodes` (checked first)';
  static override examples = [
    'pxm login http://10.0.0.1:5240 "$(ssh root@10.0.0.1 pxm apikey)"',
    {
      description: 'A key that begins with "-" (servers made before pxm_ keys) goes after --:',
      command: 'pxm login http://10.0.0.1:5240 -- "$(ssh root@10.0.0.1 pxm apikey)"',
    },
  ];
  static override args = {
    url: Args.string({ description: 'server URL, e.g. http://10.0.0.1:5240', required: true }),
    key: Args.string({ description: 'API key (`pxm apikey` on the server)', required: true }),
  };
  async run(): Promise<void> {
    const { args } = await this.parse(Login);
    let url: URL;
    try {
      url = new URL(args.url);
    } catch {
      throw new ValidationError('URL', `not a URL: ${args.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ValidationError('URL', 'must be http or https');
    const base = url.href.replace(/\/+$/, '');
    await new ApiClient(base, args.key).listNodes({ limit: 1 });
    const file = saveClientConfig({ url: base, apiKey: args.key });
    process.stderr.write(`logged in to ${base} (saved in ${file})\n`);
  }
}
