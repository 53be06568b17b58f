import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';
import { nodeDetails } from '../../client/output.js';

export default class NodesShow extends NodesCommand {
  static override description = 'Show one node';
  static override args = { node: nodeArg };
  static override flags = { json: jsonFlag };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesShow);
    const n = await this.client().findNode(args.node);
    if (flags.json) this.json(n);
    else this.out(nodeDetails(n));
  }
}
