import { NodesCommand, nodeArg } from '../../client/command.js';
import { actionFlags, runAction } from '../../client/action-command.js';

export default class NodesRelease extends NodesCommand {
  static override description = 'Release a deployed (or failed) node back to READY';
  static override args = { node: nodeArg };
  static override flags = actionFlags;
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesRelease);
    await runAction(this, 'release', args.node, flags);
  }
}
