// What a target root needs for its network: which renderer, cloud-init pass-through, and
// the complete list of files. Used by the curthooks network module (src/hooks), which
// writes the files through the Runner.
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { NetworkDoc } from './config.js';
import { renderEni } from './render-eni.js';
import { renderNetplan } from './render-netplan.js';
import { renderNetworkd } from './render-networkd.js';
import { renderPinning, type PinningFormat } from './render-pinning.js';
import type { RenderedFile } from './rendered.js';

export type RendererName = 'netplan' | 'eni' | 'networkd';

export const CLOUD_INIT_NET_CFG = '/etc/cloud/cloud.cfg.d/50-curtin-networking.cfg';

/**
 * Resolves `rel` inside the target root the way the target itself would see it: a
 * target's absolute symlinks (`/sbin -> /usr/sbin`, `/etc/x -> /run/x`) resolve against
 * the target root, never the host's, and `..` stops at the root. Components that do not
 * exist yet are kept literally. Returns the resolved path relative to the root, whether it
 * exists, or undefined for a symlink loop.
 */
export async function resolveInTarget(
  root: string,
  rel: string,
): Promise<{ path: string; exists: boolean } | undefined> {
  const parts = rel.split('/').filter(Boolean);
  let cur = '/';
  for (let hops = 0; parts.length > 0;) {
    const next = parts.shift()!;
    if (next === '.') continue;
    if (next === '..') {
      cur = path.posix.dirname(cur);
      continue;
    }
    const candidate = path.posix.join(cur, next);
    let st;
    try {
      st = await lstat(path.join(root, candidate));
    } catch {
      return { path: path.posix.join(candidate, ...parts), exists: false };
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const to = await readlink(path.join(root, candidate));
      parts.unshift(...to.split('/').filter(Boolean));
      if (to.startsWith('/')) cur = '/';
      continue;
    }
    cur = candidate;
  }
  return { path: cur, exists: true };
}

/** Does `rel` exist inside `root`, following symlinks as the target would see them? */
export async function existsInTarget(root: string, rel: string): Promise<boolean> {
  return (await resolveInTarget(root, rel))?.exists ?? false;
}

async function anyExists(root: string, rels: string[]): Promise<boolean> {
  for (const r of rels) if (await existsInTarget(root, r)) return true;
  return false;
}

/**
 * netplan when the target has /usr/sbin/netplan; ENI when it has ifupdown (ifup);
 * systemd-networkd otherwise.
 */
export async function chooseRenderer(targetRoot: string): Promise<RendererName> {
  if (await anyExists(targetRoot, ['/usr/sbin/netplan', '/sbin/netplan'])) return 'netplan';
  if (await anyExists(targetRoot, ['/usr/sbin/ifup', '/sbin/ifup'])) return 'eni';
  return 'networkd';
}

export async function targetHasCloudInit(targetRoot: string): Promise<boolean> {
  return anyExists(targetRoot, ['/usr/bin/cloud-init', '/etc/cloud/cloud.cfg']);
}

/**
 * The cloud-init pass-through file, as curtin writes it: the install's network config
 * under `network:`, so the installed system's cloud-init renders the same network on
 * every boot instead of falling back to DHCP on one NIC. A disabled config is passed
 * through too (`network: {config: disabled}`), so cloud-init does not add its fallback.
 */
export function cloudInitPassthrough(doc: NetworkDoc): RenderedFile {
  const network = doc.kind === 'disabled' ? { config: 'disabled' } : doc.network;
  return {
    path: CLOUD_INIT_NET_CFG,
    content:
      "# Written by pxm: the install's network config, for cloud-init.\n" +
      stringify({ network }, { lineWidth: 0 }),
    mode: 0o600,
  };
}

export function renderWith(
  renderer: RendererName,
  doc: Exclude<NetworkDoc, { kind: 'disabled' }>,
  pinning: readonly PinningFormat[] = ['udev'],
): RenderedFile[] {
  const files =
    renderer === 'netplan'
      ? // v2 goes to netplan verbatim (netplan pins names itself via match/set-name).
        renderNetplan(doc.state, doc.kind === 'v2' ? { passthrough: doc.network } : {})
      : renderer === 'eni'
        ? renderEni(doc.state)
        : renderNetworkd(doc.state);
  // netplan writes its own .link/udev renames from match+set-name; the others need pinning.
  const pins =
    renderer === 'netplan'
      ? []
      : renderPinning(
          doc.state,
          renderer === 'networkd' ? pinning.filter((f) => f !== 'link') : pinning,
          renderer === 'eni',
        );
  return [...files, ...pins];
}

export interface TargetNetworkPlan {
  renderer: RendererName;
  cloudInit: boolean;
  files: RenderedFile[];
  warnings: string[];
}

/** Every network file a target gets for `doc`: the curthooks network module's plan. */
export async function planTargetNetwork(
  targetRoot: string,
  doc: NetworkDoc,
  opts: { renderer?: RendererName; pinning?: readonly PinningFormat[] } = {},
): Promise<TargetNetworkPlan> {
  const renderer = opts.renderer ?? (await chooseRenderer(targetRoot));
  const cloudInit = await targetHasCloudInit(targetRoot);
  const files: RenderedFile[] = [];
  if (doc.kind !== 'disabled') files.push(...renderWith(renderer, doc, opts.pinning));
  if (cloudInit) files.push(cloudInitPassthrough(doc));
  return {
    renderer,
    cloudInit,
    files,
    warnings: doc.kind === 'disabled' ? [] : doc.state.warnings,
  };
}
