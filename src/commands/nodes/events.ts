import { Flags } from '@oclif/core';
import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';
import { eventLine } from '../../client/output.js';

export default class NodesEvents extends NodesCommand {
  static override description =
    "Show a node's events (status changes, signals, installer and cloud-init reports)";
  static override args = { node: nodeArg };
  static override flags = {
    follow: Flags.boolean({
      char: 'f',
      description: 'keep printing new events as they happen',
      default: false,
    }),
    after: Flags.integer({ description: 'only events after this event id', default: 0, min: 0 }),
    json: jsonFlag,
  };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesEvents);
    const c = this.client();
    const node = await c.findNode(args.node);
    // --json prints one JSON object a line so a follower can stream it.
    const print = (e: Parameters<typeof eventLine>[0]): void => {
      process.stdout.write(flags.json ? JSON.stringify(e) + '\n' : eventLine(e));
    };
    if (!flags.follow) {
      for (const e of await c.events(node.id, flags.after)) print(e);
      return;
    }
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await c.followEvents(node.id, flags.after, print, ac.signal);
  }
}
