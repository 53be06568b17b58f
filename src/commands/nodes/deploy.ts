import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { NodesCommand, jsonFlag, nodeArg } from '../../client/command.js';
import { nodesTable } from '../../client/output.js';
import { ValidationError } from '../../util/errors.js';

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ValidationError(`${flag} ${file}`, `cannot read: ${(e as Error).message}`);
  }
}

export default class NodesDeploy extends NodesCommand {
  static override description =
    'Deploy a READY node: its next netboot runs an installer built from these curtin configs';
  static override examples = [
    'pxm nodes deploy web1 --config storage.yaml --config net.yaml --source http://mirror/root.tar.xz',
  ];
  static override args = { node: nodeArg };
  static override flags = {
    config: Flags.string({
      description: 'curtin config file, merged in order (repeatable)',
      multiple: true,
    }),
    source: Flags.string({ description: 'image source URL for the install' }),
    'user-data': Flags.string({ description: 'user-data file for the installed OS' }),
    comment: Flags.string({ description: 'reason, recorded in the node events' }),
    json: jsonFlag,
  };
  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodesDeploy);
    const deploy: Record<string, unknown> = {};
    if (flags.config) deploy.configs = flags.config.map((f) => readText('--config', f));
    if (flags.source) deploy.source = flags.source;
    if (flags['user-data']) deploy.userData = readText('--user-data', flags['user-data']);
    const c = this.client();
    const node = await c.findNode(args.node);
    const n = await c.action(node.id, 'deploy', {
      deploy,
      ...(flags.comment ? { comment: flags.comment } : {}),
    });
    if (flags.json) this.json(n);
    else this.out(nodesTable([n]));
  }
}
