import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';

export default class NodesCredentials extends NodesCommand {
  static override description =
    "Print a node's metadata OAuth credentials (secret: handle like a password)";
  static override args = { node: nodeArg };
  static override flags = { json: jsonFlag };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesCredentials);
    const c = this.client();
    const cr = await c.credentials((await c.findNode(args.node)).id);
    if (flags.json) return this.json(cr);
    // cloud-config form: drop it into /etc/cloud/cloud.cfg.d/ on the node.
    this.out(
      [
        'datasource:',
        '  MAAS:',
        `    metadata_url: ${cr.metadataUrl}`,
        `    consumer_key: ${cr.consumerKey}`,
        `    token_key: ${cr.tokenKey}`,
        `    token_secret: ${cr.tokenSecret}`,
        '',
      ].join('\n'),
    );
  }
}
