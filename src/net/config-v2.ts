// Network config version 2 (netplan-shaped) → NetworkState.
//
// v2 is passed through to netplan unchanged when the target has netplan, so netplan
// itself is the final judge of its details. Here pxm checks what it must understand to
// render ENI or networkd and to catch the common mistakes early: structure, addresses,
// VLAN ids and references between devices. Keys pxm does not render become warnings
// (they still reach netplan and cloud-init), not errors.
import { interfaceNameProblem, ipFamily } from './addr.js';
import { parseParams, parseRoute } from './config-v1.js';
import { Fields, isObj, type Obj } from './fields.js';
import { Problems } from './problems.js';
import { emptyState, type Interface, type InterfaceType, type NetworkState } from './state.js';

const SECTIONS: Record<string, InterfaceType> = {
  ethernets: 'physical',
  bonds: 'bond',
  bridges: 'bridge',
  vlans: 'vlan',
};
/** Top-level keys netplan knows that pxm passes through but does not render itself. */
const PASS_ONLY = ['wifis', 'tunnels', 'vrfs', 'modems', 'nm-devices', 'openvswitch', 'renderer'];
const ADDR_KEYS = [
  'accept-ra',
  'dhcp4',
  'dhcp6',
  'addresses',
  'gateway4',
  'gateway6',
  'nameservers',
  'routes',
  'mtu',
  'macaddress',
];
const KNOWN: Record<InterfaceType, readonly string[]> = {
  physical: [...ADDR_KEYS, 'match', 'set-name'],
  bond: [...ADDR_KEYS, 'interfaces', 'parameters'],
  bridge: [...ADDR_KEYS, 'interfaces', 'parameters'],
  vlan: [...ADDR_KEYS, 'id', 'link'],
};
/** Accepted everywhere; meaningful to netplan only (pxm's renderers skip them quietly). */
const QUIET = ['optional', 'critical', 'renderer', 'link-local', 'wakeonlan'];

export function parseV2(net: Obj, base = 'network', problems = new Problems()): NetworkState {
  const state = emptyState();
  // netplan references devices by id (the key), while the model uses interface names
  // (set-name, else the id): track both.
  const whereOfId = new Map<string, string>();
  const whereOfName = new Map<string, string>();
  const nameOfId = new Map<string, string>();
  for (const key of Object.keys(net)) {
    if (key === 'version' || SECTIONS[key]) continue;
    if (PASS_ONLY.includes(key)) {
      if (key !== 'renderer')
        state.warnings.push(
          `${base}/${key}: passed to netplan only; not rendered for ENI or networkd`,
        );
      continue;
    }
    problems.add(`${base}/${key}`, 'unknown key in a version 2 network config');
  }
  for (const [section, type] of Object.entries(SECTIONS)) {
    const devices = net[section];
    if (devices === undefined || devices === null) continue;
    if (!isObj(devices)) {
      problems.add(`${base}/${section}`, 'must be a mapping of device ids');
      continue;
    }
    for (const [id, dev] of Object.entries(devices)) {
      const where = `${base}/${section}/${id}`;
      if (!isObj(dev) && dev !== null) {
        problems.add(where, 'must be a mapping');
        continue;
      }
      const iface = parseDevice(new Fields(dev ?? {}, where, problems), type, id, state);
      if (!iface) continue;
      if (whereOfName.has(iface.name) || whereOfId.has(id)) {
        const other = whereOfName.get(iface.name) ?? whereOfId.get(id);
        problems.add(where, `name ${iface.name} is already used by ${other}`);
        continue;
      }
      // References in v2 use the device id, which is also the name unless set-name renames it.
      whereOfId.set(id, where);
      whereOfName.set(iface.name, where);
      nameOfId.set(id, iface.name);
      state.interfaces.push(iface);
    }
  }
  checkV2References(state, whereOfName, whereOfId, nameOfId, problems);
  return state;
}

function parseDevice(
  f: Fields,
  type: InterfaceType,
  id: string,
  state: NetworkState,
): Interface | undefined {
  for (const k of Object.keys(f.obj)) {
    if (KNOWN[type].includes(k) || QUIET.includes(k)) continue;
    state.warnings.push(
      `${f.where}: key ${k} is passed to netplan only; not rendered for ENI or networkd`,
    );
  }
  let name = id;
  let mac = f.mac('macaddress');
  let rename = false;
  let byMac = false;
  let matchDriver: string | undefined;
  if (type === 'physical') {
    const match = f.obj.match;
    if (match !== undefined && match !== null) {
      if (!isObj(match)) f.bad('match must be a mapping');
      else {
        const mf = new Fields(match, `${f.where}/match`, f.problems);
        mf.onlyKeys(['macaddress', 'mac_address', 'name', 'driver']);
        if (mf.has('mac_address'))
          state.warnings.push(
            `${mf.where}: mac_address is v1's spelling; netplan's is macaddress (written as macaddress)`,
          );
        const mmac = mf.mac(mf.has('macaddress') ? 'macaddress' : 'mac_address');
        const mname = mf.str('name');
        matchDriver = mf.str('driver');
        if (mmac) {
          // As cloud-init does: the NIC with this MAC gets set-name, or else the device id.
          mac = mmac;
          byMac = true;
        }
        if (mname !== undefined && !/[*?[]/.test(mname) && !f.has('set-name')) name = mname;
        if (mname !== undefined && /[*?[]/.test(mname))
          state.warnings.push(
            `${f.where}: match by name pattern ${mname} is rendered as ${f.has('set-name') ? f.str('set-name') : id} outside netplan`,
          );
      }
    }
    const setName = f.str('set-name');
    if (setName !== undefined) {
      name = setName;
      if (!mac && !matchDriver) f.bad('set-name needs a match on macaddress or driver');
      rename = mac !== undefined;
      byMac = false;
    }
  }
  const nameProblem = interfaceNameProblem(name);
  if (nameProblem) f.bad(nameProblem);
  const iface: Interface = {
    name,
    type,
    ...(mac ? { mac } : {}),
    rename,
    ...(byMac ? { byMac } : {}),
    ...(matchDriver ? { matchDriver } : {}),
    mtu: f.int('mtu', 68, 65535),
    subnets: [],
    routes: [],
    nameservers: [],
    search: [],
    control: 'auto',
  };
  if (type === 'bond' || type === 'bridge') {
    const members = f.obj.interfaces;
    let list: string[] = [];
    if (
      members !== undefined &&
      !(Array.isArray(members) && members.every((m) => typeof m === 'string'))
    )
      f.bad('interfaces must be a list of device ids');
    else list = (members as string[] | undefined) ?? [];
    const params = parseParams(f, type, 'parameters');
    if (type === 'bond') iface.bond = { interfaces: list, params };
    else iface.bridge = { interfaces: list, params };
  }
  if (type === 'vlan') {
    const vid = f.int('id', 0, 4094);
    const link = f.str('link');
    if (!f.has('id')) f.bad('id is required');
    if (link === undefined) f.bad('link is required');
    if (vid !== undefined && link !== undefined) iface.vlan = { id: vid, link };
  }
  const acceptRa = f.bool('accept-ra');
  if (acceptRa !== undefined) iface.acceptRa = acceptRa;
  parseAddressing(f, iface);
  return iface;
}

function parseAddressing(f: Fields, iface: Interface): void {
  if (f.bool('dhcp4')) iface.subnets.push({ type: 'dhcp4' });
  if (f.bool('dhcp6')) iface.subnets.push({ type: 'dhcp6' });
  const addrs = f.obj.addresses;
  if (addrs !== undefined && addrs !== null) {
    if (!Array.isArray(addrs)) f.bad('addresses must be a list');
    else
      addrs.forEach((a, i) => {
        // netplan also allows {ADDR: {lifetime, label}}; the address is the key.
        const s = isObj(a) ? Object.keys(a)[0] : a;
        if (typeof s !== 'string') {
          f.bad(`addresses[${i}] must be ADDRESS/PREFIX`);
          return;
        }
        const af = new Fields({ addr: s }, f.where, f.problems);
        if (!s.includes('/')) {
          af.bad(`addresses[${i}] ${s} has no prefix length (netplan needs ADDRESS/PREFIX)`);
          return;
        }
        const cidr = af.cidr('addr');
        if (cidr)
          iface.subnets.push({
            type: 'static',
            family: ipFamily(cidr.split('/')[0] ?? '') === 6 ? 6 : 4,
            address: cidr,
          });
      });
  }
  for (const [key, fam] of [
    ['gateway4', 4],
    ['gateway6', 6],
  ] as const) {
    const gw = f.ip(key);
    if (gw === undefined) continue;
    if (ipFamily(gw) !== fam) f.bad(`${key} ${gw} is not an IPv${fam} address`);
    else iface.routes.push({ to: 'default', via: gw });
  }
  const ns = f.obj.nameservers;
  if (ns !== undefined && ns !== null) {
    if (!isObj(ns)) f.bad('nameservers must be a mapping with addresses and search');
    else {
      const nf = new Fields(ns, `${f.where}/nameservers`, f.problems);
      nf.onlyKeys(['addresses', 'search']);
      iface.nameservers.push(...nf.ipList('addresses'));
      iface.search.push(...nf.strList('search'));
    }
  }
  const routes = f.obj.routes;
  if (routes !== undefined && routes !== null) {
    if (!Array.isArray(routes)) f.bad('routes must be a list');
    else
      routes.forEach((r, i) => {
        const rf = new Fields(isObj(r) ? r : {}, `${f.where}/routes[${i}]`, f.problems);
        if (!isObj(r)) return rf.bad('must be a mapping with to and via');
        // netplan's names → v1's, so one route parser checks both.
        const route = parseRoute(
          new Fields({ destination: r.to, gateway: r.via, metric: r.metric }, rf.where, f.problems),
          'destination',
        );
        if (route) iface.routes.push(route);
      });
  }
}

function checkV2References(
  state: NetworkState,
  whereOfName: Map<string, string>,
  whereOfId: Map<string, string>,
  nameOfId: Map<string, string>,
  problems: Problems,
): void {
  const memberOf = new Map<string, string>();
  for (const iface of state.interfaces) {
    const where = whereOfName.get(iface.name) ?? iface.name;
    const members = iface.bond?.interfaces ?? iface.bridge?.interfaces ?? [];
    for (const m of members) {
      if (!whereOfId.has(m)) problems.add(where, `interfaces refers to ${m}, which is not defined`);
      else if (memberOf.has(m))
        problems.add(where, `interfaces: ${m} is already a member of ${memberOf.get(m)}`);
      else memberOf.set(m, iface.name);
    }
    if (iface.vlan && !whereOfId.has(iface.vlan.link))
      problems.add(where, `link refers to ${iface.vlan.link}, which is not defined`);
  }
  // Members and links were written as device ids; the model uses interface names.
  const rn = (id: string) => nameOfId.get(id) ?? id;
  for (const iface of state.interfaces) {
    if (iface.bond) iface.bond.interfaces = iface.bond.interfaces.map(rn);
    if (iface.bridge) iface.bridge.interfaces = iface.bridge.interfaces.map(rn);
    if (iface.vlan) iface.vlan.link = rn(iface.vlan.link);
  }
}
