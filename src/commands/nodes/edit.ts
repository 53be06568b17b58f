import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';
import { nodeFieldFlags, nodeInputFromFlags } from '../../client/node-flags.js';
import { nodeDetails } from '../../client/output.js';
import { ValidationError } from '../../util/errors.js';

export default class NodesEdit extends NodesCommand {
  static override description = "Change a node's fields";
  static override args = { node: nodeArg };
  static override flags = { ...nodeFieldFlags, json: jsonFlag };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesEdit);
    const input = nodeInputFromFlags(flags);
    if (!Object.keys(input).length)
      throw new ValidationError(
        'pxm nodes edit',
        'nothing to change (give at least one field flag)',
      );
    const c = this.client();
    const n = await c.updateNode((await c.findNode(args.node)).id, input);
    if (flags.json) this.json(n);
    else this.out(nodeDetails(n));
  }
}
