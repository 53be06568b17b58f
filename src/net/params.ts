// Bond and bridge parameters: one canonical name each, and how every renderer spells it.
//
// v1 writes them as ifupdown does (`bond-mode`, `bond_miimon`, `bridge_stp`), v2 as
// netplan does (`mode`, `mii-monitor-interval`, `stp`). The state model keeps the
// canonical (kernel sysfs) name; each renderer maps it back. A parameter missing from
// these tables is rejected at validation time rather than silently dropped.

export interface ParamSpec {
  /** netplan `parameters:` key */
  netplan: string;
  /** systemd.netdev [Bond]/[Bridge] key; undefined: set on the member's .network */
  networkd?: string;
  /** networkd wants seconds (`100ms`) for this millisecond value */
  ms?: boolean;
  list?: boolean;
}

export const BOND_PARAMS: Record<string, ParamSpec> = {
  mode: { netplan: 'mode', networkd: 'Mode' },
  miimon: { netplan: 'mii-monitor-interval', networkd: 'MIIMonitorSec', ms: true },
  xmit_hash_policy: { netplan: 'transmit-hash-policy', networkd: 'TransmitHashPolicy' },
  lacp_rate: { netplan: 'lacp-rate', networkd: 'LACPTransmitRate' },
  updelay: { netplan: 'up-delay', networkd: 'UpDelaySec', ms: true },
  downdelay: { netplan: 'down-delay', networkd: 'DownDelaySec', ms: true },
  primary: { netplan: 'primary' },
  primary_reselect: { netplan: 'primary-reselect-policy', networkd: 'PrimaryReselectPolicy' },
  ad_select: { netplan: 'ad-select', networkd: 'AdSelect' },
  arp_interval: { netplan: 'arp-interval', networkd: 'ARPIntervalSec', ms: true },
  arp_ip_target: { netplan: 'arp-ip-targets', networkd: 'ARPIPTargets', list: true },
  arp_validate: { netplan: 'arp-validate', networkd: 'ARPValidate' },
  arp_all_targets: { netplan: 'arp-all-targets', networkd: 'ARPAllTargets' },
  fail_over_mac: { netplan: 'fail-over-mac-policy', networkd: 'FailOverMACPolicy' },
  num_grat_arp: { netplan: 'gratuitous-arp', networkd: 'GratuitousARP' },
  min_links: { netplan: 'min-links', networkd: 'MinLinks' },
  packets_per_slave: { netplan: 'packets-per-slave', networkd: 'PacketsPerSlave' },
  resend_igmp: { netplan: 'resend-igmp', networkd: 'ResendIGMP' },
  learn_packet_interval: { netplan: 'learn-packet-interval', networkd: 'LearnPacketIntervalSec' },
  all_slaves_active: { netplan: 'all-slaves-active', networkd: 'AllSlavesActive' },
};

export const BRIDGE_PARAMS: Record<string, ParamSpec> = {
  stp: { netplan: 'stp', networkd: 'STP' },
  fd: { netplan: 'forward-delay', networkd: 'ForwardDelaySec' },
  ageing: { netplan: 'ageing-time', networkd: 'AgeingTimeSec' },
  bridgeprio: { netplan: 'priority', networkd: 'Priority' },
  hello: { netplan: 'hello-time', networkd: 'HelloTimeSec' },
  maxage: { netplan: 'max-age', networkd: 'MaxAgeSec' },
  // "PORT COST" pairs; set per port (networkd: the port's .network [Bridge] Cost=).
  pathcost: { netplan: 'path-cost', list: true },
  portprio: { netplan: 'port-priority', list: true },
  // ifupdown only: how long ifup waits for the bridge; other renderers have no such knob.
  maxwait: { netplan: '' },
  gcint: { netplan: '' },
};

/** v1 aliases that do not follow the prefix rule. */
const ALIASES: Record<string, string> = {
  bond_slaves: '',
  bond_master: '',
  bridge_ports: '',
};

/** `bond-mode`/`bond_mode`/`mode` → `mode`; `bridge_stp` → `stp`; netplan names mapped back. */
export function canonicalParam(kind: 'bond' | 'bridge', key: string): string | undefined {
  const table = kind === 'bond' ? BOND_PARAMS : BRIDGE_PARAMS;
  const k = key.replace(/-/g, '_');
  if (ALIASES[k] !== undefined) return ALIASES[k];
  const stripped = k.startsWith(`${kind}_`) ? k.slice(kind.length + 1) : k;
  if (table[stripped]) return stripped;
  for (const [canon, spec] of Object.entries(table)) {
    if (spec.netplan && spec.netplan === key) return canon;
  }
  return undefined;
}

/** ifupdown spelling: `bond-mode`, `bridge_stp`. */
export function eniParamName(kind: 'bond' | 'bridge', canon: string): string {
  return kind === 'bond' ? `bond-${canon.replace(/_/g, '-')}` : `bridge_${canon}`;
}

/** `on`/`yes`/`true`/1 → true, for STP and other switches. */
export function truthy(v: string | number | string[] | boolean): boolean {
  return ['on', 'yes', 'true', '1'].includes(String(v).toLowerCase());
}
