// The internal network state model: what every renderer reads.
//
// Both config versions (v1's list of typed entries, v2's netplan-shaped maps) are parsed
// into this one model, so the netplan, ENI and networkd renderers and MAC pinning each
// have exactly one input shape. Values here are already validated and normalised:
// MACs lower-case, addresses in CIDR form, bond/bridge parameter names without their
// `bond-`/`bridge_` prefixes.

export type InterfaceType = 'physical' | 'bond' | 'bridge' | 'vlan';

/** How ifupdown brings an interface up (v1 `control`); other renderers ignore it. */
export type Control = 'auto' | 'hotplug' | 'manual';

export interface Route {
  /** CIDR (`10.0.0.0/8`), or `default` (IPv4 or IPv6 by the gateway's family). */
  to: string;
  via: string;
  metric?: number;
}

export type Subnet =
  | { type: 'dhcp4'; control?: Control }
  | { type: 'dhcp6'; control?: Control }
  | {
      type: 'static';
      family: 4 | 6;
      /** Always `ADDRESS/PREFIX`. */
      address: string;
      gateway?: string;
      control?: Control;
    }
  | { type: 'manual'; control?: Control };

export interface Interface {
  name: string;
  type: InterfaceType;
  /** The MAC the interface has (physical) or is given (bond, bridge). */
  mac?: string;
  /** True when `name` is a name to give the NIC with this MAC (pinning, set-name). */
  rename: boolean;
  /**
   * v2 `match: {macaddress}` without `set-name`: the NIC keeps its kernel name and `name`
   * is only the config's id. ENI cannot match by MAC, so it renames such NICs to the id
   * (as cloud-init does); netplan and networkd match on the MAC.
   */
  byMac?: boolean;
  /** v2 match by driver (no MAC): kept so netplan-style renderers can match on it. */
  matchDriver?: string;
  mtu?: number;
  /** IPv6 router advertisements: undefined leaves the system default. */
  acceptRa?: boolean;
  subnets: Subnet[];
  routes: Route[];
  nameservers: string[];
  search: string[];
  control: Control;
  bond?: { interfaces: string[]; params: Record<string, string | number | string[]> };
  bridge?: { interfaces: string[]; params: Record<string, string | number | string[]> };
  vlan?: { id: number; link: string };
}

export interface NetworkState {
  /** In config order; parents (bond, bridge, vlan) come after their members in v1 order. */
  interfaces: Interface[];
  /** Global nameservers and search domains (v1 `type: nameserver`). */
  nameservers: string[];
  search: string[];
  /** Global routes that could not be tied to an interface (see `attachGlobalRoutes`). */
  unattachedRoutes: Route[];
  /** Things accepted but not rendered by every renderer; shown to the user, not fatal. */
  warnings: string[];
}

export function emptyState(): NetworkState {
  return { interfaces: [], nameservers: [], search: [], unattachedRoutes: [], warnings: [] };
}

/** The bond or bridge an interface belongs to, if any. */
export function masterOf(state: NetworkState, name: string): Interface | undefined {
  return state.interfaces.find(
    (i) => i.bond?.interfaces.includes(name) || i.bridge?.interfaces.includes(name),
  );
}

/** VLANs whose link is `name`. */
export function vlansOn(state: NetworkState, name: string): Interface[] {
  return state.interfaces.filter((i) => i.vlan?.link === name);
}

export function hasAddressConfig(iface: Interface): boolean {
  return iface.subnets.some((s) => s.type !== 'manual');
}

/**
 * Interfaces ordered so that each comes after what it depends on (bond and bridge
 * members, a VLAN's link); ifupdown brings interfaces up in file order.
 */
export function dependencyOrder(state: NetworkState): Interface[] {
  const byName = new Map(state.interfaces.map((i) => [i.name, i]));
  const out: Interface[] = [];
  const seen = new Set<string>();
  const visit = (i: Interface, depth: number): void => {
    if (seen.has(i.name) || depth > byName.size) return;
    const deps = [...(i.bond?.interfaces ?? []), ...(i.bridge?.interfaces ?? [])];
    if (i.vlan) deps.push(i.vlan.link);
    for (const d of deps) {
      const dep = byName.get(d);
      if (dep) visit(dep, depth + 1);
    }
    if (!seen.has(i.name)) {
      seen.add(i.name);
      out.push(i);
    }
  };
  for (const i of state.interfaces) visit(i, 0);
  return out;
}

/**
 * Nameservers and search domains an interface carries in netplan (which has no global
 * DNS), following cloud-init: an interface with DNS of its own keeps just that; the
 * global `type: nameserver` entries go to interfaces with a static address and no DNS of
 * their own. If that leaves the global DNS on no interface at all (DHCP-only configs),
 * it goes to every interface with address config, so it is never silently lost.
 */
export function dnsFor(
  state: NetworkState,
  iface: Interface,
): { nameservers: string[]; search: string[] } {
  const own = { nameservers: iface.nameservers, search: iface.search };
  if (own.nameservers.length || own.search.length) return own;
  if (!state.nameservers.length && !state.search.length) return own;
  const takesGlobal = (i: Interface) =>
    !i.nameservers.length && !i.search.length && i.subnets.some((s) => s.type === 'static');
  const anyTakes = state.interfaces.some(takesGlobal);
  if (anyTakes ? takesGlobal(iface) : hasAddressConfig(iface))
    return { nameservers: state.nameservers, search: state.search };
  return own;
}

/** Default routes from static subnets' gateways, then the interface's own routes. */
export function routesOf(iface: Interface): Route[] {
  const fromGateways: Route[] = iface.subnets.flatMap((s) =>
    s.type === 'static' && s.gateway ? [{ to: 'default', via: s.gateway }] : [],
  );
  const all = [...fromGateways, ...iface.routes];
  const seen = new Set<string>();
  return all.filter((r) => {
    const k = `${r.to} ${r.via}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `default` spelled for the gateway's family. */
export function routeDestination(r: Route): string {
  if (r.to !== 'default') return r.to;
  return r.via.includes(':') ? '::/0' : '0.0.0.0/0';
}
