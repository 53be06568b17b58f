// The network stage (curtin's `net-meta`): decide the network config the installed system
// gets and write it to OUTPUT_NETWORK_CONFIG, where the curthooks network module reads it.
//
// Modes, as curtin's net-meta has them:
//   auto      custom when the config has `network:`, dhcp otherwise (the stage's default)
//   custom    the config's `network:` (v1 or v2), validated, written in curtin's format
//   dhcp      DHCP on discovered NICs with carrier, or on the `devices` given
//   disabled  nothing written (also what `network: {config: disabled}` means)
// Everything is decided (and validated) before the one write, which goes through the Runner.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EventStack } from '../report/events.js';
import type { Runner } from '../runner/runner.js';
import { ValidationError } from '../util/errors.js';
import { parseNetworkConfig, serializeNetworkConfig, type NetworkDoc } from './config.js';
import { dhcpConfigFor, discoverNics, pickDhcpNics, type Nic } from './discover.js';

export type NetMetaMode = 'auto' | 'custom' | 'dhcp' | 'disabled';

export interface NetworkStageOptions {
  runner: Runner;
  /** The stage's (or builtin's) event stack; discovery reports as a child of it. */
  stack?: EventStack;
  /** The merged install config; only its `network:` key is read. */
  config: Record<string, unknown>;
  /** Where to write (curtin's OUTPUT_NETWORK_CONFIG). */
  outputNetworkConfig: string;
  mode?: NetMetaMode;
  /** dhcp mode: configure exactly these NICs (curtin's `net-meta --devices`). */
  devices?: readonly string[];
  /** Stand-in for /sys/class/net. */
  sysfsRoot?: string;
  /** Let discovery return veth/dummy/tap NICs (namespace tests). */
  includeVirtual?: boolean;
}

export interface NetworkStageResult {
  mode: 'custom' | 'dhcp' | 'disabled';
  doc: NetworkDoc;
  /** The file written, or undefined when disabled. In dry-run: the file that would be. */
  written: string | undefined;
  /** dhcp mode: every NIC discovery returned (chosen or not). */
  nics?: Nic[];
  warnings: string[];
}

/** Decides the network config without writing anything (the planning half). */
export async function planNetworkStage(
  opts: Omit<NetworkStageOptions, 'runner' | 'outputNetworkConfig'>,
): Promise<Omit<NetworkStageResult, 'written'>> {
  const hasNetwork = opts.config.network !== undefined && opts.config.network !== null;
  let mode = opts.mode ?? 'auto';
  if (mode === 'auto') mode = hasNetwork ? 'custom' : 'dhcp';
  if (mode === 'disabled') return { mode, doc: { kind: 'disabled' }, warnings: [] };
  if (mode === 'custom') {
    if (!hasNetwork)
      throw new ValidationError('network', 'net-meta custom needs a network: key in the config');
    const doc = parseNetworkConfig({ network: opts.config.network });
    if (doc.kind === 'disabled') return { mode: 'disabled', doc, warnings: [] };
    return { mode, doc, warnings: doc.state.warnings };
  }
  const discover = () =>
    discoverNics({
      sysfsRoot: opts.sysfsRoot,
      includeVirtual: opts.includeVirtual || (opts.devices?.length ?? 0) > 0,
    });
  const nics = opts.stack
    ? await opts.stack.child('discover-nics', 'discovering network interfaces').run(discover)
    : await discover();
  const warnings: string[] = [];
  let chosen: Pick<Nic, 'name' | 'mac'>[];
  if (opts.devices?.length) {
    chosen = opts.devices.map((d) => {
      const nic = nics.find((n) => n.name === d);
      if (!nic)
        throw new ValidationError(
          `--devices ${d}`,
          `no such network interface (found: ${nics.map((n) => n.name).join(', ') || 'none'})`,
        );
      return nic;
    });
  } else {
    const pick = pickDhcpNics(nics);
    chosen = pick.nics;
    if (pick.fallback)
      warnings.push(
        `no NIC has carrier; configuring DHCP on ${pick.nics[0]?.name} (first by name)`,
      );
    if (nics.length === 0) warnings.push('no network interfaces found; the config is empty');
  }
  const doc = parseNetworkConfig({ network: dhcpConfigFor(chosen) });
  return { mode: 'dhcp', doc, nics, warnings };
}

/** Runs the network stage: plan, then write OUTPUT_NETWORK_CONFIG through the Runner. */
export async function runNetworkStage(opts: NetworkStageOptions): Promise<NetworkStageResult> {
  const plan = await planNetworkStage(opts);
  if (plan.warnings.length) opts.stack?.warn();
  if (plan.doc.kind === 'disabled') return { ...plan, written: undefined };
  const file = opts.outputNetworkConfig;
  const content = serializeNetworkConfig(plan.doc);
  await opts.runner.action(
    { kind: 'write', path: file, description: `network config (${plan.mode})` },
    async () => {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
    },
  );
  return { ...plan, written: file };
}
