// Typed readers for untyped YAML values. Each reader records a problem (naming the key)
// and returns undefined on bad input, so parsers can keep going and collect everything.
import { ipFamily, isMac, netmaskToPrefix, parseCidr } from './addr.js';
import type { Problems } from './problems.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Fields {
  constructor(
    readonly obj: Obj,
    readonly where: string,
    readonly problems: Problems,
  ) {}

  bad(problem: string): void {
    this.problems.add(this.where, problem);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.bad(`${key} must be a string`);
    return undefined;
  }

  /** An integer, also written as a numeric string (YAML configs do both). */
  int(key: string, min: number, max: number): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.bad(`${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.bad(`${key} must be true or false`);
    return undefined;
  }

  /** A string or a list of strings (curtin accepts both for addresses and search). */
  strList(key: string): string[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
      return v.map(String);
    this.bad(`${key} must be a string or a list of strings`);
    return [];
  }

  mac(key: string): string | undefined {
    const s = this.str(key);
    if (s === undefined) return undefined;
    if (!isMac(s)) {
      this.bad(`${key} ${s} is not a MAC address (xx:xx:xx:xx:xx:xx)`);
      return undefined;
    }
    return s.toLowerCase();
  }

  ip(key: string, value = this.str(key)): string | undefined {
    if (value === undefined) return undefined;
    if (!ipFamily(value)) {
      this.bad(`${key} ${value} is not an IPv4 or IPv6 address`);
      return undefined;
    }
    return value;
  }

  ipList(key: string): string[] {
    return this.strList(key).filter((a) => this.ip(key, a) !== undefined);
  }

  /**
   * An address as curtin writes it: `ADDR/PREFIX`, or `ADDR` with a `netmask` or `prefix`
   * key beside it. IPv6 without a prefix defaults to /64 (as curtin documents);
   * IPv4 without one is an error rather than a guess.
   */
  cidr(key: string): string | undefined {
    const raw = this.str(key);
    if (raw === undefined) return undefined;
    if (raw.includes('/')) {
      const c = parseCidr(raw);
      if (typeof c === 'string') {
        this.bad(`${key}: ${c}`);
        return undefined;
      }
      return `${c.ip}/${c.prefix}`;
    }
    const fam = ipFamily(raw);
    if (!fam) {
      this.bad(`${key} ${raw} is not an IPv4 or IPv6 address`);
      return undefined;
    }
    const mask = this.str('netmask');
    if (mask !== undefined) {
      const p = fam === 4 ? netmaskToPrefix(mask) : /^\d+$/.test(mask) ? Number(mask) : undefined;
      if (p === undefined) {
        this.bad(`netmask ${mask} is not a valid netmask`);
        return undefined;
      }
      return `${raw}/${p}`;
    }
    const prefix = this.int('prefix', 0, fam === 4 ? 32 : 128);
    if (prefix !== undefined) return `${raw}/${prefix}`;
    if (fam === 6) return `${raw}/64`;
    this.bad(`${key} ${raw} has no prefix length: write ${raw}/24 or add netmask or prefix`);
    return undefined;
  }

  /** Reports keys not in `known` (catches typos such as `vlan-id`). */
  onlyKeys(known: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!known.includes(k)) this.bad(`unknown key ${k}`);
    }
  }
}
