import { NodesCommand, nodeArg } from '../../client/command.js';
import { actionFlags, runAction } from '../../client/action-command.js';

export default class NodesMarkBroken extends NodesCommand {
  static override description = 'Mark a node BROKEN (commission it to bring it back)';
  static override args = { node: nodeArg };
  static override flags = actionFlags;
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesMarkBroken);
    await runAction(this, 'mark-broken', args.node, flags);
  }
}
