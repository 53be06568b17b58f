import { Flags } from '@oclif/core';
import { NodesCommand, jsonFlag } from '../../client/command.js';
import { nodesTable } from '../../client/output.js';

export default class NodesList extends NodesCommand {
  static override description = 'List nodes (filtered and paged on the server)';
  static override examples = [
    'pxm nodes list --status READY --status NEW',
    'pxm nodes list --hostname "web*" --json',
  ];
  static override flags = {
    status: Flags.string({ description: 'only nodes in this status (repeatable)', multiple: true }),
    hostname: Flags.string({ description: 'host name or glob (web*)' }),
    mac: Flags.string({ description: 'the node with this MAC' }),
    arch: Flags.string({ description: 'architecture, e.g. amd64/generic' }),
    limit: Flags.integer({ description: 'page size', default: 100, min: 1, max: 1000 }),
    offset: Flags.integer({ description: 'skip this many', default: 0, min: 0 }),
    json: jsonFlag,
  };
  async run(): Promise<void> {
    const { flags } = await this.parse(NodesList);
    const r = await this.client().listNodes({
      status: flags.status?.map((s) => s.toUpperCase()),
      hostname: flags.hostname,
      mac: flags.mac,
      architecture: flags.arch,
      limit: flags.limit,
      offset: flags.offset,
    });
    if (flags.json) return this.json(r);
    this.out(nodesTable(r.items));
    if (r.total > r.offset + r.items.length) {
      process.stderr.write(
        `(${r.items.length} of ${r.total}; next page: --offset ${r.offset + r.items.length})\n`,
      );
    }
  }
}
