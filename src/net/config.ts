// Entry point for network configs: unwraps curtin's forms, picks the version, validates.
//
// Accepted shapes (all as curtin accepts them):
//   {network: {version: 1, config: [...]}}     a whole install config or OUTPUT_NETWORK_CONFIG
//   {version: 1, config: [...]}                the value of `network:` alone
//   {network: {version: 2, ethernets: ...}}    v2 (netplan-shaped), likewise bare
//   {network: {config: disabled}}              turn network configuration off
import { stringify } from 'yaml';
import { parseV1 } from './config-v1.js';
import { parseV2 } from './config-v2.js';
import { isObj, type Obj } from './fields.js';
import { Problems } from './problems.js';
import type { NetworkState } from './state.js';

export type NetworkDoc =
  | { kind: 'disabled' }
  | {
      kind: 'v1' | 'v2';
      /** The `network:` value exactly as given: what is written out and passed through. */
      network: Obj;
      state: NetworkState;
    };

/**
 * Validates a network config and returns it with its parsed state. Throws
 * NetworkConfigError listing every problem (each naming its entry) when invalid.
 * `source` (a file name) is put in front of the error list.
 */
export function parseNetworkConfig(input: unknown, source?: string): NetworkDoc {
  const problems = new Problems();
  const base = 'network';
  let net: unknown = input;
  if (isObj(input) && 'network' in input) net = input.network;
  if (!isObj(net)) {
    problems.add(
      base,
      'must be a mapping with version and config (v1) or ethernets/bonds/... (v2)',
    );
    problems.throwIfAny(source);
    throw new Error('unreachable');
  }
  if (net.config === 'disabled') return { kind: 'disabled' };
  const version = net.version;
  let state: NetworkState | undefined;
  if (version === 1 || version === '1') {
    for (const k of Object.keys(net))
      if (k !== 'version' && k !== 'config')
        problems.add(`${base}/${k}`, 'unknown key in a version 1 network config');
    if (net.config === undefined)
      problems.add(`${base}/config`, 'is required in a version 1 network config');
    else state = parseV1(net.config, `${base}/config`, problems);
  } else if (version === 2 || version === '2') {
    state = parseV2(net, base, problems);
  } else {
    problems.add(
      `${base}/version`,
      version === undefined ? 'is required (1 or 2)' : `${JSON.stringify(version)} is not 1 or 2`,
    );
  }
  problems.throwIfAny(source);
  return { kind: version === 2 || version === '2' ? 'v2' : 'v1', network: net, state: state! };
}

/** The file curtin's net-meta writes to OUTPUT_NETWORK_CONFIG: `network:` + the config. */
export function serializeNetworkConfig(doc: NetworkDoc): string {
  const network = doc.kind === 'disabled' ? { config: 'disabled' } : doc.network;
  return stringify({ network }, { lineWidth: 0 });
}
