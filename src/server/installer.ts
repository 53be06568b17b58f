// Per-node installers through the pack API (src/pack): the operator's configs in order,
// then the server's additions last so they win the curtin merge.
import { buildInstaller } from '../pack/index.js';
import type { InstallerBuilder } from './metadata-policy.js';

export function packInstallerBuilder(opts: { withNode?: boolean } = {}): InstallerBuilder {
  return async ({ nodeId, configs }) =>
    buildInstaller({
      configs: configs.map((content, i) => ({
        name: i === configs.length - 1 ? `pxm-server-${nodeId}.yaml` : `node-${nodeId}-${i}.yaml`,
        content,
      })),
      withNode: opts.withNode ?? false,
    });
}
