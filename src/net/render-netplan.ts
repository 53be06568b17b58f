// netplan renderer: NetworkState (or a v2 config, passed through) → one netplan YAML file.
//
// The file is /etc/netplan/50-cloud-init.yaml by default, the name curtin uses: when the
// target also has cloud-init, cloud-init later renders the same config (passed through in
// 50-curtin-networking.cfg) into that same file instead of adding a second, conflicting
// one beside it.
import { stringify } from 'yaml';
import { isObj, type Obj } from './fields.js';
import { BOND_PARAMS, BRIDGE_PARAMS, truthy } from './params.js';
import type { RenderedFile } from './rendered.js';
import { dnsFor, routeDestination, routesOf, type Interface, type NetworkState } from './state.js';

export const NETPLAN_PATH = '/etc/netplan/50-cloud-init.yaml';

export interface NetplanOptions {
  path?: string;
  /** A v2 `network:` value to write as given (after alias fixes) instead of the state. */
  passthrough?: Obj;
}

const HEADER = "# Written by pxm from the install's network config.\n";

export function renderNetplan(state: NetworkState, opts: NetplanOptions = {}): RenderedFile[] {
  const network = opts.passthrough ? fixV2Aliases(opts.passthrough) : netplanFromState(state);
  return [
    {
      path: opts.path ?? NETPLAN_PATH,
      content: HEADER + stringify({ network }, { lineWidth: 0 }),
      // netplan 0.106+ warns about (and later refuses) world-readable config files.
      mode: 0o600,
    },
  ];
}

/** The v2 document netplan would read for this state. */
export function netplanFromState(state: NetworkState): Obj {
  const sections: Record<string, Obj> = { ethernets: {}, bonds: {}, bridges: {}, vlans: {} };
  for (const iface of state.interfaces) {
    const dev: Obj = {};
    if (iface.type === 'physical') {
      if (iface.mac && (iface.rename || iface.byMac)) {
        dev.match = { macaddress: iface.mac };
        if (iface.rename) dev['set-name'] = iface.name;
      } else if (iface.matchDriver) {
        dev.match = { driver: iface.matchDriver };
        dev['set-name'] = iface.name;
      }
    } else if (iface.mac) {
      dev.macaddress = iface.mac;
    }
    if (iface.bond) {
      dev.interfaces = iface.bond.interfaces;
      const p = netplanParams('bond', iface.bond.params);
      if (Object.keys(p).length) dev.parameters = p;
    }
    if (iface.bridge) {
      dev.interfaces = iface.bridge.interfaces;
      const p = netplanParams('bridge', iface.bridge.params);
      if (Object.keys(p).length) dev.parameters = p;
    }
    if (iface.vlan) {
      dev.id = iface.vlan.id;
      dev.link = iface.vlan.link;
    }
    if (iface.mtu !== undefined) dev.mtu = iface.mtu;
    if (iface.acceptRa !== undefined) dev['accept-ra'] = iface.acceptRa;
    Object.assign(dev, addressing(state, iface));
    const section = { physical: 'ethernets', bond: 'bonds', bridge: 'bridges', vlan: 'vlans' }[
      iface.type
    ];
    sections[section]![iface.name] = dev;
  }
  const network: Obj = { version: 2 };
  for (const [k, v] of Object.entries(sections)) if (Object.keys(v).length) network[k] = v;
  return network;
}

function addressing(state: NetworkState, iface: Interface): Obj {
  const out: Obj = {};
  if (iface.subnets.some((s) => s.type === 'dhcp4')) out.dhcp4 = true;
  if (iface.subnets.some((s) => s.type === 'dhcp6')) out.dhcp6 = true;
  const addrs = iface.subnets.flatMap((s) => (s.type === 'static' ? [s.address] : []));
  if (addrs.length) out.addresses = addrs;
  const routes = routesOf(iface).map((r) => ({
    // 0.0.0.0/0 rather than `default`: older netplan (Ubuntu 18.04/20.04) only knows CIDRs.
    to: routeDestination(r),
    via: r.via,
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
  }));
  if (routes.length) out.routes = routes;
  const dns = dnsFor(state, iface);
  if (dns.nameservers.length || dns.search.length) {
    out.nameservers = {
      ...(dns.nameservers.length ? { addresses: dns.nameservers } : {}),
      ...(dns.search.length ? { search: dns.search } : {}),
    };
  }
  return out;
}

function netplanParams(
  kind: 'bond' | 'bridge',
  params: Record<string, string | number | string[]>,
): Obj {
  const table = kind === 'bond' ? BOND_PARAMS : BRIDGE_PARAMS;
  const out: Obj = {};
  for (const [canon, value] of Object.entries(params)) {
    const spec = table[canon];
    if (!spec?.netplan) continue; // ifupdown-only knobs (bridge_maxwait, bridge_gcint)
    if (canon === 'stp') out.stp = truthy(value as string);
    else if (canon === 'pathcost' || canon === 'portprio') {
      const map: Obj = {};
      for (const pair of value as string[]) {
        const [port, n] = pair.split(/\s+/);
        if (port && n !== undefined) map[port] = Number(n);
      }
      out[spec.netplan] = map;
    } else if (spec.list) out[spec.netplan] = Array.isArray(value) ? value : [String(value)];
    else
      out[spec.netplan] = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

/** Copies a v2 config, spelling `match: {mac_address}` (seen in curtin's tests) as netplan does. */
export function fixV2Aliases(network: Obj): Obj {
  const copy = structuredClone(network);
  const eths = copy.ethernets;
  if (isObj(eths)) {
    for (const dev of Object.values(eths)) {
      if (isObj(dev) && isObj(dev.match) && 'mac_address' in dev.match) {
        const { mac_address, ...rest } = dev.match;
        dev.match = { macaddress: mac_address, ...rest };
      }
    }
  }
  return copy;
}
