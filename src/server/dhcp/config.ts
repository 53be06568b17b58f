// The `dhcp:` section of the server config file, validated completely before the server
// starts. Either one subnet inline or a list under `subnets:`:
//
//   dhcp:
//     subnet: 10.0.0.0/24
//     range: [10.0.0.100, 10.0.0.199]
//     router: 10.0.0.1          # optional
//     dns: [10.0.0.1]           # optional
//     domain: maas              # optional
//     lease_time: 3600          # seconds, default 3600
import { ValidationError } from '../../util/errors.js';

export interface SubnetConfig {
  /** Network address as a 32-bit unsigned number, and prefix length. */
  network: number;
  prefix: number;
  rangeStart: number;
  rangeEnd: number;
  router?: string;
  dns: string[];
  domain?: string;
  leaseTime: number;
}

export interface DhcpConfig {
  subnets: SubnetConfig[];
}

/**
 * Dotted-quad text (four parts of 1-3 digits, each <= 255) as a 32-bit number. A char
 * loop rather than a regex: it runs for several addresses of every DHCP packet.
 */
export function ipToNum(ip: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else return undefined;
  }
  if (digits === 0 || dots !== 3) return undefined;
  return n * 256 + part;
}

export function numToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function inSubnet(ip: number, s: Pick<SubnetConfig, 'network' | 'prefix'>): boolean {
  return (ip & maskOf(s.prefix)) >>> 0 === s.network;
}

function ipAt(where: string, v: unknown): number {
  const n = typeof v === 'string' ? ipToNum(v) : undefined;
  if (n === undefined)
    throw new ValidationError(where, `must be an IPv4 address, got ${JSON.stringify(v)}`);
  return n;
}

const SUBNET_KEYS = ['subnet', 'range', 'router', 'dns', 'domain', 'lease_time'];

function parseSubnet(where: string, v: unknown): SubnetConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError(where, 'must be a mapping');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!SUBNET_KEYS.includes(k))
      throw new ValidationError(`${where}.${k}`, `unknown key (known: ${SUBNET_KEYS.join(', ')})`);
  const m = typeof o.subnet === 'string' ? /^([\d.]+)\/(\d{1,2})$/.exec(o.subnet) : null;
  const net = m ? ipToNum(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (net === undefined || !(prefix >= 8 && prefix <= 30))
    throw new ValidationError(`${where}.subnet`, 'must be CIDR like 10.0.0.0/24 (prefix 8..30)');
  if ((net & maskOf(prefix)) >>> 0 !== net)
    throw new ValidationError(`${where}.subnet`, `${o.subnet} has host bits set`);
  const s = { network: net, prefix };
  if (!Array.isArray(o.range) || o.range.length !== 2)
    throw new ValidationError(`${where}.range`, 'must be [first, last] addresses');
  const a = ipAt(`${where}.range[0]`, o.range[0]);
  const b = ipAt(`${where}.range[1]`, o.range[1]);
  if (!inSubnet(a, s) || !inSubnet(b, s))
    throw new ValidationError(`${where}.range`, `must lie inside ${o.subnet}`);
  if (a > b) throw new ValidationError(`${where}.range`, 'first address is after the last');
  const bcast = (net | ~maskOf(prefix)) >>> 0;
  if (a === net || b === bcast)
    throw new ValidationError(
      `${where}.range`,
      'must not include the network or broadcast address',
    );
  let router: string | undefined;
  if (o.router !== undefined) {
    const r = ipAt(`${where}.router`, o.router);
    if (!inSubnet(r, s))
      throw new ValidationError(`${where}.router`, `must lie inside ${o.subnet}`);
    router = numToIp(r);
  }
  const dnsRaw = o.dns === undefined ? [] : Array.isArray(o.dns) ? o.dns : [o.dns];
  const dns = dnsRaw.map((d, i) => numToIp(ipAt(`${where}.dns[${i}]`, d)));
  if (
    o.domain !== undefined &&
    (typeof o.domain !== 'string' || !/^[a-z0-9.-]{1,253}$/i.test(o.domain))
  )
    throw new ValidationError(`${where}.domain`, 'must be a DNS domain name');
  const lt = o.lease_time ?? 3600;
  if (!Number.isInteger(lt) || (lt as number) < 60 || (lt as number) > 31_536_000)
    throw new ValidationError(`${where}.lease_time`, 'must be whole seconds, 60..31536000');
  return {
    network: net,
    prefix,
    rangeStart: a,
    rangeEnd: b,
    router,
    dns,
    domain: o.domain as string | undefined,
    leaseTime: lt as number,
  };
}

/** `where` names the file and key, e.g. `server.yaml: dhcp`. */
export function parseDhcpConfig(where: string, v: unknown): DhcpConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError(where, 'must be a mapping');
  const o = v as Record<string, unknown>;
  let subnets: SubnetConfig[];
  if ('subnets' in o) {
    if (Object.keys(o).length !== 1)
      throw new ValidationError(where, 'give either `subnets:` or one inline subnet, not both');
    if (!Array.isArray(o.subnets) || o.subnets.length === 0)
      throw new ValidationError(`${where}.subnets`, 'must be a non-empty list');
    subnets = o.subnets.map((s, i) => parseSubnet(`${where}.subnets[${i}]`, s));
  } else {
    subnets = [parseSubnet(where, o)];
  }
  for (let i = 0; i < subnets.length; i++)
    for (let j = 0; j < i; j++)
      if (inSubnet(subnets[i]!.network, subnets[j]!) || inSubnet(subnets[j]!.network, subnets[i]!))
        throw new ValidationError(`${where}.subnets[${i}]`, `overlaps subnets[${j}]`);
  return { subnets };
}
