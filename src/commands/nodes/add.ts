import { NodesCommand, jsonFlag } from '../../client/command.js';
import { nodeFieldFlags, nodeInputFromFlags } from '../../client/node-flags.js';
import { nodeDetails } from '../../client/output.js';

export default class NodesAdd extends NodesCommand {
  static override description = 'Add a node (status NEW) with fresh metadata credentials';
  static override examples = [
    'pxm nodes add --hostname web1 --mac 52:54:00:12:34:56 --ip 10.0.0.21',
  ];
  static override flags = { ...nodeFieldFlags, json: jsonFlag };
  async run(): Promise<void> {
    const { flags } = await this.parse(NodesAdd);
    const n = await this.client().createNode(nodeInputFromFlags(flags));
    if (flags.json) this.json(n);
    else this.out(nodeDetails(n));
  }
}
