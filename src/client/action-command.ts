// `pxm nodes commission|release|abort|mark-broken` share these flags and this body.
import { Flags } from '@oclif/core';
import type { NodesCommand } from './command.js';
import { jsonFlag } from './command.js';
import { nodesTable } from './output.js';

export const actionFlags = {
  comment: Flags.string({ description: 'reason, recorded in the node events' }),
  json: jsonFlag,
};

export async function runAction(
  cmd: NodesCommand & { emit(text: string): void; emitJson(v: unknown): void },
  action: string,
  node: string,
  flags: { comment?: string; json: boolean },
): Promise<void> {
  const c = cmd.apiClient();
  const found = await c.findNode(node);
  const n = await c.action(found.id, action, flags.comment ? { comment: flags.comment } : {});
  if (flags.json) cmd.emitJson(n);
  else cmd.emit(nodesTable([n]));
}
