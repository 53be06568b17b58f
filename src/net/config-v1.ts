// Network config version 1 (curtin/MAAS): a list of typed entries → NetworkState.
//
// Every entry is checked and every problem collected; errors name the entry as
// `network/config[INDEX] (NAME)` so a user can find it in a long MAAS-generated list.
import { parseCidr, cidrContains, interfaceNameProblem, ipFamily, type Cidr } from './addr.js';
import { Fields, isObj } from './fields.js';
import { canonicalParam } from './params.js';
import { Problems } from './problems.js';
import {
  emptyState,
  type Control,
  type Interface,
  type InterfaceType,
  type NetworkState,
  type Route,
  type Subnet,
} from './state.js';

// `control` is a subnet key in v1 (curtin and cloud-init ignore it on the interface).
const COMMON = ['type', 'name', 'mac_address', 'mtu', 'subnets', 'accept-ra'];
const KEYS: Record<string, readonly string[]> = {
  physical: [...COMMON, 'wakeonlan', 'ipv4_conf', 'ipv6_conf'],
  bond: [...COMMON, 'bond_interfaces', 'params', 'ipv4_conf', 'ipv6_conf'],
  bridge: [...COMMON, 'bridge_interfaces', 'params', 'ipv4_conf', 'ipv6_conf'],
  vlan: [...COMMON, 'vlan_link', 'vlan_id', 'ipv4_conf', 'ipv6_conf'],
  nameserver: ['type', 'address', 'search', 'interface'],
  route: ['type', 'destination', 'network', 'netmask', 'prefix', 'gateway', 'metric'],
};
const SUBNET_KEYS = [
  'type',
  'address',
  'netmask',
  'prefix',
  'gateway',
  'dns_nameservers',
  'dns_search',
  'routes',
  'control',
  'metric',
  'ipv4',
  'ipv6',
];
const SUBNET_TYPES = ['dhcp', 'dhcp4', 'dhcp6', 'static', 'static6', 'manual'];

export function parseV1(
  config: unknown,
  base = 'network/config',
  problems = new Problems(),
): NetworkState {
  const state = emptyState();
  if (!Array.isArray(config)) {
    problems.add(base, 'must be a list of entries (type: physical, bond, ...)');
    return state;
  }
  const globalRoutes: Route[] = [];
  const scopedDns: { where: string; iface: string; addrs: string[]; search: string[] }[] = [];
  const whereOf = new Map<string, string>();

  config.forEach((entry, i) => {
    const at = `${base}[${i}]`;
    if (!isObj(entry)) {
      problems.add(at, 'must be a mapping with a type key');
      return;
    }
    const name = typeof entry.name === 'string' ? entry.name : undefined;
    const where = name ? `${at} (${name})` : at;
    const f = new Fields(entry, where, problems);
    const type = f.str('type');
    if (type === undefined || !KEYS[type]) {
      f.bad(
        type === undefined
          ? 'has no type'
          : `type ${type} is not one of ${Object.keys(KEYS).join(', ')}`,
      );
      return;
    }
    f.onlyKeys(KEYS[type] ?? []);
    if (type === 'nameserver') {
      const scoped = f.str('interface');
      if (scoped !== undefined) {
        // Applies to one interface; attached once every entry is known.
        scopedDns.push({
          where,
          iface: scoped,
          addrs: f.ipList('address'),
          search: f.strList('search'),
        });
        return;
      }
      state.nameservers.push(...f.ipList('address'));
      state.search.push(...f.strList('search'));
      return;
    }
    if (type === 'route') {
      const r = parseRoute(f, 'destination');
      if (r) globalRoutes.push(r);
      return;
    }
    const iface = parseInterface(f, type as InterfaceType, name, state);
    if (!iface) return;
    if (whereOf.has(iface.name)) {
      f.bad(`name ${iface.name} is already used by ${whereOf.get(iface.name)}`);
      return;
    }
    whereOf.set(iface.name, where);
    state.interfaces.push(iface);
  });

  for (const d of scopedDns) {
    const iface = state.interfaces.find((i) => i.name === d.iface);
    if (!iface) problems.add(d.where, `interface refers to ${d.iface}, which is not defined`);
    else {
      iface.nameservers.push(...d.addrs);
      iface.search.push(...d.search);
    }
  }
  checkReferences(state, whereOf, problems);
  dedupe(state);
  attachGlobalRoutes(state, globalRoutes);
  return state;
}

function parseInterface(
  f: Fields,
  type: InterfaceType,
  name: string | undefined,
  state: NetworkState,
): Interface | undefined {
  if (name === undefined) {
    f.bad('has no name');
    return undefined;
  }
  const nameProblem = interfaceNameProblem(name);
  if (nameProblem) f.bad(nameProblem);
  const mac = f.mac('mac_address');
  const iface: Interface = {
    name,
    type,
    mac,
    // A physical entry names the NIC with this MAC: that is what pinning enforces.
    rename: type === 'physical' && mac !== undefined,
    mtu: f.int('mtu', 68, 65535),
    subnets: [],
    routes: [],
    nameservers: [],
    search: [],
    control: 'auto',
  };
  const acceptRa = f.bool('accept-ra');
  if (acceptRa !== undefined) iface.acceptRa = acceptRa;
  for (const k of ['ipv4_conf', 'ipv6_conf']) {
    if (f.has(k) && !isObj(f.obj[k])) f.bad(`${k} must be a mapping of sysctl names`);
    else if (f.has(k))
      state.warnings.push(
        `${f.where}: ${k} is passed to cloud-init only; pxm's renderers do not set sysctls`,
      );
  }
  if (f.has('wakeonlan') && f.bool('wakeonlan') !== undefined)
    state.warnings.push(`${f.where}: wakeonlan is passed to cloud-init only; not rendered`);
  if (type === 'bond') {
    iface.bond = {
      interfaces: memberList(f, 'bond_interfaces'),
      params: parseParams(f, 'bond'),
    };
  } else if (type === 'bridge') {
    iface.bridge = {
      interfaces: memberList(f, 'bridge_interfaces'),
      params: parseParams(f, 'bridge'),
    };
  } else if (type === 'vlan') {
    const link = f.str('vlan_link');
    const id = f.int('vlan_id', 1, 4094);
    if (link === undefined) f.bad('vlan_link is required');
    if (id === undefined && !f.has('vlan_id')) f.bad('vlan_id is required');
    if (link !== undefined && id !== undefined) iface.vlan = { id, link };
  }
  parseSubnets(f, iface);
  return iface;
}

function memberList(f: Fields, key: string): string[] {
  const v = f.obj[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    f.bad(`${key} must be a list of interface names`);
    return [];
  }
  if (v.length === 0 && key === 'bond_interfaces') f.bad(`${key} is empty`);
  return v as string[];
}

export function parseParams(
  f: Fields,
  kind: 'bond' | 'bridge',
  key = 'params',
): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  const v = f.obj[key];
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    f.bad(`${key} must be a mapping`);
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    const canon = canonicalParam(kind, k);
    if (canon === undefined) {
      f.bad(`${key}: unknown ${kind} parameter ${k}`);
      continue;
    }
    if (canon === '') continue; // bond-slaves/bridge_ports: members come from *_interfaces
    const listOf = (x: unknown): string[] | undefined => {
      // v2 writes per-port values as a map {eth3: 50}; v1 as "eth3 50" strings.
      if (isObj(x)) return Object.entries(x).map(([p, n]) => `${p} ${String(n)}`);
      if (Array.isArray(x)) return x.map(String);
      if (typeof x === 'string' || typeof x === 'number')
        return canon === 'arp_ip_target'
          ? String(x)
              .split(/[\s,]+/)
              .filter(Boolean)
          : [String(x)];
      return undefined;
    };
    if (canon === 'pathcost' || canon === 'portprio' || canon === 'arp_ip_target') {
      const l = listOf(val);
      if (l) out[canon] = l;
      else f.bad(`${key}: ${k} must be a string, list or mapping`);
    } else if (typeof val === 'boolean') out[canon] = val ? 'on' : 'off';
    else if (typeof val === 'string' || typeof val === 'number') out[canon] = val;
    else f.bad(`${key}: ${k} must be a string or number`);
  }
  return out;
}

function parseControl(f: Fields, key: string): Control | undefined {
  const c = f.str(key);
  if (c === undefined) return undefined;
  if (c === 'auto' || c === 'hotplug' || c === 'manual') return c;
  f.bad(`${key} ${c} is not one of auto, hotplug, manual`);
  return undefined;
}

function parseSubnets(f: Fields, iface: Interface): void {
  const v = f.obj.subnets;
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) {
    f.bad('subnets must be a list');
    return;
  }
  v.forEach((s, j) => {
    const sf = new Fields(isObj(s) ? s : {}, `${f.where} subnets[${j}]`, f.problems);
    if (!isObj(s)) {
      sf.bad('must be a mapping with a type key');
      return;
    }
    sf.onlyKeys(SUBNET_KEYS);
    const type = sf.str('type');
    if (type === undefined || !SUBNET_TYPES.includes(type)) {
      sf.bad(
        type === undefined
          ? 'has no type'
          : `type ${type} is not one of ${SUBNET_TYPES.join(', ')}`,
      );
      return;
    }
    const control = parseControl(sf, 'control');
    const c = control ? { control } : {};
    let subnet: Subnet | undefined;
    if (type === 'dhcp' || type === 'dhcp4') subnet = { type: 'dhcp4', ...c };
    else if (type === 'dhcp6') subnet = { type: 'dhcp6', ...c };
    else if (type === 'manual') subnet = { type: 'manual', ...c };
    else {
      const address = sf.cidr('address');
      if (!sf.has('address')) sf.bad(`a ${type} subnet needs an address`);
      if (address !== undefined) {
        const fam = ipFamily(address.split('/')[0] ?? '') ?? 4;
        if (type === 'static6' && fam !== 6) sf.bad(`static6 address ${address} is not IPv6`);
        const gateway = sf.ip('gateway');
        if (gateway !== undefined && ipFamily(gateway) !== fam)
          sf.bad(`gateway ${gateway} is not in the same address family as ${address}`);
        subnet = { type: 'static', family: fam, address, ...(gateway ? { gateway } : {}), ...c };
      }
    }
    if (subnet) iface.subnets.push(subnet);
    iface.nameservers.push(...sf.ipList('dns_nameservers'));
    iface.search.push(...sf.strList('dns_search'));
    const routes = sf.obj.routes;
    if (routes !== undefined && routes !== null) {
      if (!Array.isArray(routes)) sf.bad('routes must be a list');
      else
        routes.forEach((r, k) => {
          const rf = new Fields(isObj(r) ? r : {}, `${sf.where} routes[${k}]`, f.problems);
          const route = isObj(r)
            ? parseRoute(rf, 'network')
            : (rf.bad('must be a mapping'), undefined);
          if (route) iface.routes.push(route);
        });
    }
  });
}

/** A route entry: destination (or network) + netmask/prefix, gateway, metric. */
export function parseRoute(f: Fields, destKey: 'destination' | 'network'): Route | undefined {
  const key = f.has(destKey) ? destKey : f.has('destination') ? 'destination' : 'network';
  const via = f.ip('gateway');
  if (!f.has('gateway')) f.bad('a route needs a gateway');
  const metric = f.int('metric', 0, 4294967295);
  const dest = f.str(key);
  if (dest === undefined) {
    f.bad(`a route needs a ${destKey}`);
    return undefined;
  }
  let to: string | undefined;
  if (dest === 'default' || dest === '0.0.0.0/0' || dest === '::/0' || dest === '::')
    to = 'default';
  else to = f.cidr(key);
  if (to === undefined || via === undefined) return undefined;
  if (to !== 'default') {
    const c = parseCidr(to) as Cidr;
    if (c.family !== ipFamily(via)) {
      f.bad(`gateway ${via} is not in the same address family as ${to}`);
      return undefined;
    }
  }
  return { to, via, ...(metric !== undefined ? { metric } : {}) };
}

function checkReferences(
  state: NetworkState,
  whereOf: Map<string, string>,
  problems: Problems,
): void {
  const memberOf = new Map<string, string>();
  for (const iface of state.interfaces) {
    const where = whereOf.get(iface.name) ?? iface.name;
    const refs: [string, string[]][] = [];
    if (iface.bond) refs.push(['bond_interfaces', iface.bond.interfaces]);
    if (iface.bridge) refs.push(['bridge_interfaces', iface.bridge.interfaces]);
    for (const [key, members] of refs) {
      for (const m of members) {
        if (!whereOf.has(m)) {
          problems.add(where, `${key} refers to ${m}, which is not defined`);
        } else if (m === iface.name) {
          problems.add(where, `${key} lists the interface itself`);
        } else if (memberOf.has(m)) {
          problems.add(where, `${key}: ${m} is already a member of ${memberOf.get(m)}`);
        } else memberOf.set(m, iface.name);
      }
    }
    if (iface.vlan && !whereOf.has(iface.vlan.link))
      problems.add(where, `vlan_link refers to ${iface.vlan.link}, which is not defined`);
  }
  for (const [m, master] of memberOf) {
    const member = state.interfaces.find((i) => i.name === m);
    if (member && member.subnets.some((s) => s.type !== 'manual'))
      problems.add(
        whereOf.get(m) ?? m,
        `has addresses but is a member of ${master}; put the subnets on ${master}`,
      );
  }
}

function dedupe(state: NetworkState): void {
  const uniq = (a: string[]) => [...new Set(a)];
  state.nameservers = uniq(state.nameservers);
  state.search = uniq(state.search);
  for (const i of state.interfaces) {
    i.nameservers = uniq(i.nameservers);
    i.search = uniq(i.search);
  }
}

/**
 * A global route belongs to the interface whose static subnet contains its gateway
 * (the kernel needs the gateway on-link). Routes with no such interface are kept in
 * `unattachedRoutes` with a warning; renderers cannot place them.
 */
export function attachGlobalRoutes(state: NetworkState, routes: Route[]): void {
  for (const r of routes) {
    const iface = state.interfaces.find((i) =>
      i.subnets.some((s) => {
        if (s.type !== 'static') return false;
        const c = parseCidr(s.address);
        return typeof c !== 'string' && cidrContains(c, r.via);
      }),
    );
    if (iface) iface.routes.push(r);
    else {
      state.unattachedRoutes.push(r);
      state.warnings.push(
        `route to ${r.to} via ${r.via}: no interface has a static address on the gateway's subnet; not rendered`,
      );
    }
  }
}
