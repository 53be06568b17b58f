// ifupdown renderer: NetworkState → /etc/network/interfaces (loopback + `source`) and
// /etc/network/interfaces.d/50-pxm.cfg (everything else), in dependency order because
// ifupdown brings interfaces up in file order.
//
// Conventions follow Debian's ifupdown, ifenslave, bridge-utils and vlan packages:
// bond members carry `bond-master` and the bond `bond-slaves none`; a second address of
// the same family is a second `iface NAME inet static` stanza (ifupdown >= 0.7); extra
// routes are `post-up ip route add ... || true` so a route that already exists does not
// fail the interface.
import { eniParamName } from './params.js';
import type { RenderedFile } from './rendered.js';
import {
  dependencyOrder,
  masterOf,
  routesOf,
  type Interface,
  type NetworkState,
  type Subnet,
} from './state.js';

export const ENI_PATH = '/etc/network/interfaces';
export const ENI_D_PATH = '/etc/network/interfaces.d/50-pxm.cfg';

const HEADER = "# Written by pxm from the install's network config.\n";

export function renderEni(state: NetworkState): RenderedFile[] {
  // Global nameservers on the loopback stanza, as cloud-init does: resolvconf takes
  // lo's dns-* options like any interface's, and lo is always up.
  const lo = ['auto lo', 'iface lo inet loopback'];
  if (state.nameservers.length) lo.push(`    dns-nameservers ${state.nameservers.join(' ')}`);
  if (state.search.length) lo.push(`    dns-search ${state.search.join(' ')}`);
  const main = `${HEADER}\n${lo.join('\n')}\n\nsource /etc/network/interfaces.d/*\n`;
  const body = dependencyOrder(state)
    .map((i) => stanzas(state, i))
    .join('\n');
  return [
    { path: ENI_PATH, content: main, mode: 0o644 },
    { path: ENI_D_PATH, content: HEADER + '\n' + body, mode: 0o644 },
  ];
}

/** The stanzas of one interface as interfaces(5) text. */
export function stanzas(state: NetworkState, iface: Interface): string {
  const name = iface.name;
  const lines: string[] = [];
  const control = iface.subnets[0]?.control ?? iface.control;
  // An interface with nothing to configure is not brought up by `ifup -a` unless a bond
  // needs it (bridge-utils and vlan bring ports and raw devices up themselves).
  const idle = iface.subnets.length === 0 && !masterOf(state, iface.name)?.bond;
  if (idle) {
    // no auto line
  } else if (control === 'auto') lines.push(`auto ${name}`);
  else if (control === 'hotplug') lines.push(`allow-hotplug ${name}`);

  const v4 = iface.subnets.filter(
    (s) => s.type === 'dhcp4' || (s.type === 'static' && s.family === 4),
  );
  const v6 = iface.subnets.filter(
    (s) => s.type === 'dhcp6' || (s.type === 'static' && s.family === 6),
  );
  const first: { family: 'inet' | 'inet6'; subnet?: Subnet }[] = [];
  if (v4[0]) first.push({ family: 'inet', subnet: v4[0] });
  if (v6[0]) first.push({ family: 'inet6', subnet: v6[0] });
  if (first.length === 0) first.push({ family: 'inet' }); // manual: options still apply

  const gateways = stanzaGateways(iface);
  const opts = interfaceOptions(state, iface, gateways);
  first.forEach((st, idx) => {
    lines.push(`iface ${name} ${st.family} ${method(st.subnet)}`);
    lines.push(...subnetOptions(st.subnet));
    if (st.family === 'inet6' && iface.acceptRa !== undefined)
      lines.push(`accept_ra ${iface.acceptRa ? 1 : 0}`);
    const gw =
      st.subnet?.type === 'static' && !st.subnet.gateway ? gateways.get(st.subnet) : undefined;
    if (gw) lines.push(`gateway ${gw}`);
    // Link-level options once, on the first stanza.
    if (idx === 0) lines.push(...opts);
  });
  for (const s of [...v4.slice(1), ...v6.slice(1)]) {
    if (s.type !== 'static') continue; // a second dhcp of one family means nothing more
    lines.push(`iface ${name} ${s.family === 6 ? 'inet6' : 'inet'} static`);
    lines.push(...subnetOptions(s));
    const gw = gateways.get(s);
    if (gw) lines.push(`gateway ${gw}`);
  }
  return (
    lines
      .map((l) =>
        l.startsWith('auto ') || l.startsWith('allow-') || l.startsWith('iface ') ? l : `    ${l}`,
      )
      .join('\n') + '\n'
  );
}

function method(s: Subnet | undefined): string {
  if (!s || s.type === 'manual') return 'manual';
  if (s.type === 'dhcp4' || s.type === 'dhcp6') return 'dhcp';
  return 'static';
}

/**
 * A default route given apart from the address (v2 `routes: [{to: default}]`, `gateway4`)
 * becomes the `gateway` of the first static stanza of its family, as ifupdown expects.
 */
function stanzaGateways(iface: Interface): Map<Subnet, string> {
  const out = new Map<Subnet, string>();
  for (const r of iface.routes) {
    if (r.to !== 'default' || r.metric !== undefined) continue;
    const fam = r.via.includes(':') ? 6 : 4;
    const s = iface.subnets.find((x) => x.type === 'static' && x.family === fam && !x.gateway);
    if (s && ![...out.keys()].includes(s)) out.set(s, r.via);
  }
  return out;
}

function subnetOptions(s: Subnet | undefined): string[] {
  if (!s || s.type !== 'static') return [];
  return [`address ${s.address}`, ...(s.gateway ? [`gateway ${s.gateway}`] : [])];
}

function interfaceOptions(
  state: NetworkState,
  iface: Interface,
  gateways: Map<Subnet, string>,
): string[] {
  const out: string[] = [];
  if (iface.mac && iface.type !== 'physical') out.push(`hwaddress ether ${iface.mac}`);
  if (iface.mtu !== undefined) out.push(`mtu ${iface.mtu}`);
  const master = masterOf(state, iface.name);
  if (master?.bond) {
    out.push(`bond-master ${master.name}`);
    if (master.bond.params.primary === iface.name) out.push(`bond-primary ${iface.name}`);
  }
  if (iface.bond) {
    out.push('bond-slaves none');
    for (const [k, v] of Object.entries(iface.bond.params))
      out.push(`${eniParamName('bond', k)} ${Array.isArray(v) ? v.join(' ') : v}`);
  }
  if (iface.bridge) {
    out.push(`bridge_ports ${iface.bridge.interfaces.join(' ') || 'none'}`);
    for (const [k, v] of Object.entries(iface.bridge.params)) {
      // Per-port values repeat the key once per port ("bridge_pathcost eth3 50").
      if (Array.isArray(v)) for (const pair of v) out.push(`${eniParamName('bridge', k)} ${pair}`);
      else out.push(`${eniParamName('bridge', k)} ${v}`);
    }
  }
  if (iface.vlan) {
    out.push(`vlan-raw-device ${iface.vlan.link}`, `vlan-id ${iface.vlan.id}`);
  }
  // Global DNS sits on `lo` (see renderEni); each interface carries only its own.
  const dns = { nameservers: iface.nameservers, search: iface.search };
  if (dns.nameservers.length) out.push(`dns-nameservers ${dns.nameservers.join(' ')}`);
  if (dns.search.length) out.push(`dns-search ${dns.search.join(' ')}`);
  // Default routes from gateways are `gateway` lines already; the rest become post-up.
  for (const r of routesOf(iface)) {
    const asGateway =
      iface.subnets.some((s) => s.type === 'static' && s.gateway === r.via) ||
      [...gateways.values()].includes(r.via);
    if (r.to === 'default' && asGateway) continue;
    const fam = r.via.includes(':') ? '-6 ' : '';
    const spec = `${r.to} via ${r.via}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`;
    out.push(
      `post-up ip ${fam}route add ${spec} || true`,
      `pre-down ip ${fam}route del ${spec} || true`,
    );
  }
  return out;
}
