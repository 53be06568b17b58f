import { NodesCommand, nodeArg } from '../../client/command.js';

export default class NodesDelete extends NodesCommand {
  static override description = 'Delete a node and its events';
  static override args = { node: nodeArg };
  async run(): Promise<void> {
    const { args } = await this.parse(NodesDelete);
    const c = this.client();
    const n = await c.findNode(args.node);
    await c.deleteNode(n.id);
    process.stderr.write(`deleted node ${n.id} (${n.hostname})\n`);
  }
}
