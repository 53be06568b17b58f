// systemd-networkd renderer: NetworkState → .link (renames), .netdev (bond, bridge, vlan)
// and .network files under /etc/systemd/network, plus global DNS as a resolved drop-in
// (networkd has no global DNS of its own; resolved is where .network DNS= ends up too).
//
// File names carry a number so they sort before the distribution's catch-all files
// (Debian ships none; Ubuntu's 99-default.link sorts after 10-pxm-*.link).
import { BOND_PARAMS, BRIDGE_PARAMS, truthy } from './params.js';
import { linkFile, pinnedInterfaces } from './render-pinning.js';
import type { RenderedFile } from './rendered.js';
import {
  dnsFor,
  masterOf,
  routeDestination,
  routesOf,
  vlansOn,
  type Interface,
  type NetworkState,
} from './state.js';

export const NETWORKD_DIR = '/etc/systemd/network';
export const RESOLVED_DROPIN = '/etc/systemd/resolved.conf.d/50-pxm.conf';

const HEADER = "# Written by pxm from the install's network config.";

type Section = [string, string[]];

function ini(sections: Section[]): string {
  return (
    [
      HEADER,
      ...sections.filter(([, l]) => l.length).map(([h, l]) => `[${h}]\n${l.join('\n')}`),
    ].join('\n\n') + '\n'
  );
}

export function renderNetworkd(state: NetworkState): RenderedFile[] {
  const files: RenderedFile[] = pinnedInterfaces(state).map(linkFile);
  for (const iface of state.interfaces) {
    const netdev = netdevFile(iface);
    if (netdev) files.push(netdev);
    const network = networkFile(state, iface);
    if (network) files.push(network);
  }
  if (state.nameservers.length || state.search.length) {
    const resolve: string[] = [];
    if (state.nameservers.length) resolve.push(`DNS=${state.nameservers.join(' ')}`);
    if (state.search.length) resolve.push(`Domains=${state.search.join(' ')}`);
    files.push({ path: RESOLVED_DROPIN, content: ini([['Resolve', resolve]]), mode: 0o644 });
  }
  return files;
}

function netdevFile(iface: Interface): RenderedFile | undefined {
  if (iface.type === 'physical') return undefined;
  const kind = iface.type;
  const netdev = [`Name=${iface.name}`, `Kind=${kind}`];
  if (iface.mac) netdev.push(`MACAddress=${iface.mac}`);
  if (iface.mtu !== undefined) netdev.push(`MTUBytes=${iface.mtu}`);
  const sections: Section[] = [['NetDev', netdev]];
  if (iface.bond) sections.push(['Bond', netdevParams('bond', iface.bond.params)]);
  if (iface.bridge) sections.push(['Bridge', netdevParams('bridge', iface.bridge.params)]);
  if (iface.vlan) sections.push(['VLAN', [`Id=${iface.vlan.id}`]]);
  return {
    path: `${NETWORKD_DIR}/20-pxm-${iface.name}.netdev`,
    content: ini(sections),
    mode: 0o644,
  };
}

function netdevParams(
  kind: 'bond' | 'bridge',
  params: Record<string, string | number | string[]>,
): string[] {
  const table = kind === 'bond' ? BOND_PARAMS : BRIDGE_PARAMS;
  const out: string[] = [];
  for (const [canon, v] of Object.entries(params)) {
    const spec = table[canon];
    if (!spec?.networkd) continue; // per-port values go on the port's .network
    let value: string;
    if (canon === 'stp') value = truthy(v as string) ? 'yes' : 'no';
    else if (Array.isArray(v)) value = v.join(' ');
    else if (spec.ms) value = `${v}ms`;
    else value = String(v);
    out.push(`${spec.networkd}=${value}`);
  }
  return out;
}

function networkFile(state: NetworkState, iface: Interface): RenderedFile | undefined {
  const network: string[] = [];
  const dhcp4 = iface.subnets.some((s) => s.type === 'dhcp4');
  const dhcp6 = iface.subnets.some((s) => s.type === 'dhcp6');
  if (dhcp4 || dhcp6) network.push(`DHCP=${dhcp4 && dhcp6 ? 'yes' : dhcp4 ? 'ipv4' : 'ipv6'}`);
  for (const s of iface.subnets) if (s.type === 'static') network.push(`Address=${s.address}`);
  if (iface.acceptRa !== undefined) network.push(`IPv6AcceptRA=${iface.acceptRa ? 'yes' : 'no'}`);
  const dns = dnsFor({ ...state, nameservers: [], search: [] }, iface); // global DNS: resolved drop-in
  for (const ns of dns.nameservers) network.push(`DNS=${ns}`);
  if (dns.search.length) network.push(`Domains=${dns.search.join(' ')}`);
  const master = masterOf(state, iface.name);
  const bridgePort: string[] = [];
  if (master?.bond) {
    network.push(`Bond=${master.name}`);
    if (master.bond.params.primary === iface.name) network.push('PrimarySlave=yes');
  }
  if (master?.bridge) {
    network.push(`Bridge=${master.name}`);
    for (const [canon, key] of [
      ['pathcost', 'Cost'],
      ['portprio', 'Priority'],
    ] as const) {
      const pairs = master.bridge.params[canon];
      const mine = Array.isArray(pairs)
        ? pairs.find((p) => p.split(/\s+/)[0] === iface.name)
        : undefined;
      if (mine) bridgePort.push(`${key}=${mine.split(/\s+/)[1]}`);
    }
  }
  for (const v of vlansOn(state, iface.name)) network.push(`VLAN=${v.name}`);
  const link: string[] = [];
  if (iface.mtu !== undefined) link.push(`MTUBytes=${iface.mtu}`);
  if (network.length === 0 && link.length === 0) return undefined; // nothing to manage
  if (network.length === 0 || !iface.subnets.some((s) => s.type !== 'manual')) {
    // Members and unaddressed links: up, but no IPv6 link-local or RA of their own.
    network.push('LinkLocalAddressing=no');
  }
  const routes: Section[] = routesOf(iface).map((r) => [
    'Route',
    [
      ...(r.to === 'default' ? [] : [`Destination=${routeDestination(r)}`]),
      `Gateway=${r.via}`,
      ...(r.metric !== undefined ? [`Metric=${r.metric}`] : []),
    ],
  ]);
  const sections: Section[] = [
    [
      'Match',
      iface.byMac && !iface.rename ? [`PermanentMACAddress=${iface.mac}`] : [`Name=${iface.name}`],
    ],
    ['Link', link],
    ['Network', network],
    ...(bridgePort.length ? ([['Bridge', bridgePort]] as Section[]) : []),
    ...routes,
  ];
  return {
    path: `${NETWORKD_DIR}/30-pxm-${iface.name}.network`,
    content: ini(sections),
    mode: 0o644,
  };
}
