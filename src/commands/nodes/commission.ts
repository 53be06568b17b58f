import { NodesCommand, nodeArg } from '../../client/command.js';
import { actionFlags, runAction } from '../../client/action-command.js';

export default class NodesCommission extends NodesCommand {
  static override description =
    'Commission a node: boot it into commissioning to collect its hardware inventory';
  static override args = { node: nodeArg };
  static override flags = actionFlags;
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesCommission);
    await runAction(this, 'commission', args.node, flags);
  }
}
