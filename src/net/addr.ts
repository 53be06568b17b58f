// Small address helpers for validation and normalisation (no dependencies).
import { isIPv4, isIPv6 } from 'node:net';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

export function ipFamily(s: string): 4 | 6 | undefined {
  if (isIPv4(s)) return 4;
  if (isIPv6(s)) return 6;
  return undefined;
}

/** `255.255.255.0` → 24; undefined if not a contiguous IPv4 mask. */
export function netmaskToPrefix(mask: string): number | undefined {
  if (!isIPv4(mask)) return undefined;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const bits = n.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export interface Cidr {
  ip: string;
  prefix: number;
  family: 4 | 6;
}

/** Parses `ADDR/PREFIX`; returns a problem string instead of throwing. */
export function parseCidr(s: string): Cidr | string {
  const [ip, p, extra] = s.split('/');
  if (extra !== undefined || ip === undefined) return `${s} is not an address`;
  const family = ipFamily(ip);
  if (!family) return `${ip} is not an IPv4 or IPv6 address`;
  if (p === undefined) return `${s} has no prefix length`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(p) || Number(p) > max) return `${s} has a bad prefix length (0-${max})`;
  return { ip, prefix: Number(p), family };
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function ipv6ToBigInt(ip: string): bigint {
  let s = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const n = ipv4ToInt(v4[1]);
    s = s.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** True when `ip` lies inside `cidr` (same family only). */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const fam = ipFamily(ip);
  if (fam !== cidr.family) return false;
  if (fam === 4) {
    if (cidr.prefix === 0) return true;
    const mask = (0xffffffff << (32 - cidr.prefix)) >>> 0;
    return (ipv4ToInt(ip) & mask) >>> 0 === (ipv4ToInt(cidr.ip) & mask) >>> 0;
  }
  const shift = BigInt(128 - cidr.prefix);
  return ipv6ToBigInt(ip) >> shift === ipv6ToBigInt(cidr.ip) >> shift;
}

/** Linux interface names: 1-15 bytes, no slash, colon or whitespace, not `.`/`..`. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (Buffer.byteLength(name) > 15) return `name ${name} is longer than 15 bytes`;
  if (/[/:\s]/.test(name) || name === '.' || name === '..')
    return `name ${name} is not a valid interface name`;
  return undefined;
}
