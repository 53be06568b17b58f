import { NodesCommand, nodeArg } from '../../client/command.js';
import { actionFlags, runAction } from '../../client/action-command.js';

export default class NodesAbort extends NodesCommand {
  static override description = 'Abort commissioning (back to NEW) or deploying (back to READY)';
  static override args = { node: nodeArg };
  static override flags = actionFlags;
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesAbort);
    await runAction(this, 'abort', args.node, flags);
  }
}
