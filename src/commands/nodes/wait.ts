import { Flags } from '@oclif/core';
import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';
import { nodesTable } from '../../client/output.js';
import { ExitCode, PxmError, ValidationError } from '../../util/errors.js';
import { NODE_STATUSES } from '../../server/lifecycle.js';

const FAILED = ['FAILED_COMMISSIONING', 'FAILED_DEPLOYMENT', 'BROKEN'];

export default class NodesWait extends NodesCommand {
  static override description =
    'Wait until a node reaches a status; exits 5 on timeout and 1 if it fails on the way';
  static override examples = ['pxm nodes wait web1 --status DEPLOYED --timeout 1800'];
  static override args = { node: nodeArg };
  static override flags = {
    status: Flags.string({
      description: 'status to wait for (repeatable: any of them)',
      multiple: true,
      required: true,
    }),
    timeout: Flags.integer({ description: 'seconds to wait', default: 3600, min: 1 }),
    json: jsonFlag,
  };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesWait);
    const want = flags.status.map((s) => s.toUpperCase());
    for (const s of want) {
      if (!(NODE_STATUSES as readonly string[]).includes(s))
        throw new ValidationError(
          `--status ${s}`,
          `unknown status (known: ${NODE_STATUSES.join(', ')})`,
        );
    }
    const c = this.client();
    const id = (await c.findNode(args.node)).id;
    const deadline = Date.now() + flags.timeout * 1000;
    // Follow the event stream and re-read the node on each status event; the stream
    // wakes us at once, a periodic re-read covers a dropped connection.
    for (;;) {
      const n = await c.findNode(id);
      if (want.includes(n.status)) {
        if (flags.json) this.json(n);
        else this.out(nodesTable([n]));
        return;
      }
      if (FAILED.includes(n.status)) {
        throw new PxmError(
          `node ${id} is ${n.status}${n.statusReason ? `: ${n.statusReason}` : ''} (wanted ${want.join('|')})`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PxmError(
          `node ${id} is still ${n.status} after ${flags.timeout} s (wanted ${want.join('|')})`,
          {
            exitCode: ExitCode.TIMEOUT,
          },
        );
      }
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), Math.min(left, 10_000));
      const events = await c.events(id);
      const last = events.length ? (events[events.length - 1]?.id ?? 0) : 0;
      await c.followEvents(
        id,
        last,
        (e) => {
          if (e.type === 'status') ac.abort();
        },
        ac.signal,
      );
      clearTimeout(timer);
    }
  }
}
