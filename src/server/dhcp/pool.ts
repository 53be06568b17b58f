// In-memory lease table over the configured subnets: which address each MAC holds or has
// been offered, and which addresses are free. Pure bookkeeping (no I/O, time passed in);
// durability is the engine's job (lease-db.ts), which writes a binding before the ACK.
import { inSubnet, ipToNum, numToIp, type SubnetConfig } from './config.js';
import type { LeaseRow } from './lease-db.js';

export type LeaseState = 'offered' | 'bound' | 'declined';

export interface Lease {
  mac: string;
  ip: number;
  /** Epoch ms: bound lease end, or how long an offer/decline holds the address. */
  expiresAt: number;
  state: LeaseState;
}

/** Addresses that belong to known nodes (from the controller's store). */
export interface Reservations {
  /** The address reserved for this MAC, if any. */
  reservedIp(mac: string): string | undefined;
  /** Whether the address is reserved for some node (then only that node gets it). */
  isReserved(ip: string): boolean;
}

export const NO_RESERVATIONS: Reservations = {
  reservedIp: () => undefined,
  isReserved: () => false,
};

const DECLINED = '<declined>';

export class LeaseTable {
  private readonly byMac = new Map<string, Lease>();
  private readonly byIp = new Map<number, Lease>();
  private readonly cursor = new Map<SubnetConfig, number>();

  constructor(
    private readonly subnets: readonly SubnetConfig[],
    private readonly reservations: Reservations = NO_RESERVATIONS,
  ) {}

  /** Restores bound leases read from disk at start. */
  load(rows: readonly LeaseRow[]): void {
    for (const r of rows) {
      const ip = ipToNum(r.ip);
      if (ip === undefined) continue;
      this.set({ mac: r.mac, ip, expiresAt: r.expiresAt, state: 'bound' });
    }
  }

  get size(): number {
    return this.byMac.size;
  }

  leaseOf(mac: string): Lease | undefined {
    return this.byMac.get(mac);
  }

  /** The live (unexpired) holder of an address, if any. */
  holderOf(ip: number, now: number): Lease | undefined {
    const l = this.byIp.get(ip);
    return l && l.expiresAt > now ? l : undefined;
  }

  subnetOf(ip: number): SubnetConfig | undefined {
    return this.subnets.find((s) => inSubnet(ip, s));
  }

  private set(l: Lease): void {
    const old = this.byMac.get(l.mac);
    if (old && this.byIp.get(old.ip) === old) this.byIp.delete(old.ip);
    const prev = this.byIp.get(l.ip);
    if (prev && prev !== old && this.byMac.get(prev.mac) === prev) this.byMac.delete(prev.mac);
    this.byMac.set(l.mac, l);
    this.byIp.set(l.ip, l);
  }

  private drop(l: Lease): void {
    if (this.byMac.get(l.mac) === l) this.byMac.delete(l.mac);
    if (this.byIp.get(l.ip) === l) this.byIp.delete(l.ip);
  }

  /** May `mac` use `ip` in `subnet` now? (in range or reserved for it, and not held by another) */
  usable(mac: string, ip: number, subnet: SubnetConfig, now: number): boolean {
    if (!inSubnet(ip, subnet)) return false;
    const holder = this.holderOf(ip, now);
    if (holder && holder.mac !== mac) return false;
    const reserved = this.reservations.reservedIp(mac);
    if (reserved !== undefined && ipToNum(reserved) === ip) return true;
    if (ip < subnet.rangeStart || ip > subnet.rangeEnd) return false;
    return !this.reservations.isReserved(numToIp(ip));
  }

  /**
   * Chooses an address to offer (order: reservation, current lease, requested address,
   * next free in the range) and holds it for `holdMs`. Undefined when the pool is full.
   */
  offer(
    mac: string,
    subnet: SubnetConfig,
    requested: number | undefined,
    now: number,
    holdMs: number,
  ): number | undefined {
    const candidates: number[] = [];
    const reserved = this.reservations.reservedIp(mac);
    const r = reserved === undefined ? undefined : ipToNum(reserved);
    if (r !== undefined && inSubnet(r, subnet)) candidates.push(r);
    const cur = this.byMac.get(mac);
    if (cur && cur.state !== 'declined') candidates.push(cur.ip);
    if (requested !== undefined) candidates.push(requested);
    let ip = candidates.find((c) => this.usable(mac, c, subnet, now));
    ip ??= this.nextFree(mac, subnet, now);
    if (ip === undefined) return undefined;
    // A bound lease stays bound (and keeps its end time) while it is merely re-offered.
    if (cur && cur.ip === ip && cur.state === 'bound' && cur.expiresAt > now) return ip;
    this.set({ mac, ip, expiresAt: now + holdMs, state: 'offered' });
    return ip;
  }

  private nextFree(mac: string, s: SubnetConfig, now: number): number | undefined {
    const size = s.rangeEnd - s.rangeStart + 1;
    let ip = this.cursor.get(s) ?? s.rangeStart;
    for (let n = 0; n < size; n++, ip = ip >= s.rangeEnd ? s.rangeStart : ip + 1) {
      if (this.holderOf(ip, now)) continue;
      if (this.reservations.isReserved(numToIp(ip))) continue;
      this.cursor.set(s, ip >= s.rangeEnd ? s.rangeStart : ip + 1);
      return ip;
    }
    void mac;
    return undefined;
  }

  /** Binds (or extends) mac -> ip until `expiresAt`; false when another client holds it. */
  bind(mac: string, ip: number, subnet: SubnetConfig, now: number, expiresAt: number): boolean {
    if (!this.usable(mac, ip, subnet, now)) return false;
    this.set({ mac, ip, expiresAt, state: 'bound' });
    return true;
  }

  /** Undo of a bind whose write failed: the address is free again. */
  unbind(mac: string, ip: number): void {
    const l = this.byMac.get(mac);
    if (l && l.ip === ip) this.drop(l);
  }

  /** RELEASE: frees the lease when mac really holds ip. Returns whether it did. */
  release(mac: string, ip: number): boolean {
    const l = this.byMac.get(mac);
    if (!l || l.ip !== ip || l.state === 'declined') return false;
    this.drop(l);
    return true;
  }

  /** DECLINE: the address is in use by someone else on the wire; keep it out of the pool. */
  decline(mac: string, ip: number, now: number, holdMs: number): boolean {
    const l = this.byMac.get(mac);
    if (!l || l.ip !== ip) return false;
    this.drop(l);
    const d: Lease = {
      mac: `${DECLINED}${numToIp(ip)}`,
      ip,
      expiresAt: now + holdMs,
      state: 'declined',
    };
    this.byIp.set(ip, d);
    return true;
  }
}
