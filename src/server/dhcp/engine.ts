// The DHCP state machine for full and proxy mode (RFC 2131 §4.3), as DhcpHandlers for the
// socket server. Addresses come from LeaseTable; bindings are written to the LeaseStore
// BEFORE the ACK is returned (group commit batches those writes); the boot answer comes
// from the controller's BootPolicy.
import { ipToNum, maskOf, numToIp, type DhcpConfig, type SubnetConfig } from './config.js';
import type { LeaseStore } from './lease-db.js';
import { BOOTREPLY, type DhcpOption, type DhcpPacket } from './packet.js';
import { MsgType, Opt, getOption, ip, ips, optIp, text, u32, u8 } from './options.js';
import { LeaseTable, type Reservations } from './pool.js';
import { applyBoot, pxeClientOf, type BootPolicy } from './pxe.js';
import type { DhcpHandler, DhcpRequest } from './server.js';

export type DhcpLogEvent =
  | { type: 'lease'; mac: string; ip: string; expiresAt: number }
  | { type: 'nak'; mac: string; reason: string }
  | { type: 'release'; mac: string; ip: string }
  | { type: 'decline'; mac: string; ip: string }
  | { type: 'pool-full'; mac: string; subnet: string }
  | { type: 'write-failed'; mac: string; error: string };

export interface FullDhcpOptions {
  config: DhcpConfig;
  store: LeaseStore;
  boot: BootPolicy;
  reservations?: Reservations;
  /** How long an OFFER holds its address. */
  offerHoldMs?: number;
  /** How long a DECLINEd address stays out of the pool. */
  declineHoldMs?: number;
  now?: () => number;
  onEvent?: (e: DhcpLogEvent) => void;
}

// Reply parts that are the same for every reply, built once: the per-packet cost of the
// server is mostly allocation. Option values and these fields are never written in place
// (replies get new options appended, fields replaced), so sharing them is safe.
const ZERO_SNAME = Buffer.alloc(64);
const ZERO_FILE = Buffer.alloc(128);
const msgTypeOpts = new Map<number, DhcpOption>();
const serverIdOpts = new Map<string, DhcpOption>();
const subnetOpts = new WeakMap<SubnetConfig, DhcpOption[]>();
const leaseOpts = new Map<number, DhcpOption[]>();

function cached<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    if (m.size >= 64) m.clear(); // bounded: keys come from configuration, not clients
    v = make();
    m.set(k, v);
  }
  return v;
}

function reply(req: DhcpPacket, type: number, serverIp: string): DhcpPacket {
  return {
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: ZERO_SNAME,
    file: ZERO_FILE,
    options: [
      cached(msgTypeOpts, type, () => u8(Opt.MESSAGE_TYPE, type)),
      cached(serverIdOpts, serverIp, () => ip(Opt.SERVER_ID, serverIp)),
    ],
  };
}

function subnetOptions(s: SubnetConfig): DhcpOption[] {
  let out = subnetOpts.get(s);
  if (out) return out;
  out = [u32(Opt.SUBNET_MASK, maskOf(s.prefix))];
  out.push(ip(Opt.BROADCAST, numToIp((s.network | ~maskOf(s.prefix)) >>> 0)));
  if (s.router) out.push(ip(Opt.ROUTER, s.router));
  if (s.dns.length) out.push(ips(Opt.DNS, s.dns));
  if (s.domain) out.push(text(Opt.DOMAIN_NAME, s.domain));
  subnetOpts.set(s, out);
  return out;
}

function leaseOptions(seconds: number): DhcpOption[] {
  // T1 = 50%, T2 = 87.5% of the lease (RFC 2131 §4.4.5).
  return cached(leaseOpts, seconds, () => [
    u32(Opt.LEASE_TIME, seconds),
    u32(Opt.RENEWAL_T1, Math.floor(seconds / 2)),
    u32(Opt.REBINDING_T2, Math.floor((seconds * 7) / 8)),
  ]);
}

export class FullDhcp implements DhcpHandler {
  readonly leases: LeaseTable;
  private readonly now: () => number;
  private readonly holdMs: number;
  private readonly declineMs: number;
  private readonly emit: (e: DhcpLogEvent) => void;

  constructor(private readonly o: FullDhcpOptions) {
    this.leases = new LeaseTable(o.config.subnets, o.reservations);
    this.leases.load(o.store.loadAll());
    this.now = o.now ?? Date.now;
    this.holdMs = o.offerHoldMs ?? 30_000;
    this.declineMs = o.declineHoldMs ?? 600_000;
    this.emit = o.onEvent ?? (() => {});
  }

  /** Relayed requests are served from giaddr's subnet, direct ones from the interface's. */
  private subnetFor(req: DhcpRequest): SubnetConfig | undefined {
    const via = req.packet.giaddr !== '0.0.0.0' ? req.packet.giaddr : req.serverIp;
    return this.leases.subnetOf(ipToNum(via) ?? 0);
  }

  /** Synchronous where no lease is written (DISCOVER, INFORM): no promise per OFFER. */
  handle(req: DhcpRequest): DhcpPacket | undefined | Promise<DhcpPacket | undefined> {
    const subnet = this.subnetFor(req);
    if (!subnet) return undefined; // not a network we serve
    switch (req.type) {
      case MsgType.DISCOVER:
        return this.discover(req, subnet);
      case MsgType.REQUEST:
        return this.request(req, subnet);
      case MsgType.DECLINE:
        return this.decline(req);
      case MsgType.RELEASE:
        return this.release(req);
      case MsgType.INFORM:
        return this.inform(req, subnet);
      default:
        return undefined;
    }
  }

  private withConfig(
    r: DhcpPacket,
    req: DhcpRequest,
    subnet: SubnetConfig,
    leaseSec?: number,
  ): DhcpPacket {
    if (leaseSec !== undefined) r.options.push(...leaseOptions(leaseSec));
    r.options.push(...subnetOptions(subnet));
    const client = pxeClientOf(req.packet, req.mac);
    if (client) applyBoot(r, req.packet, client, this.o.boot.bootFor(client), req.serverIp);
    return r;
  }

  private discover(req: DhcpRequest, subnet: SubnetConfig): DhcpPacket | undefined {
    const now = this.now();
    const wanted = optIp(req.packet, Opt.REQUESTED_IP);
    const addr = this.leases.offer(
      req.mac,
      subnet,
      wanted ? ipToNum(wanted) : undefined,
      now,
      this.holdMs,
    );
    if (addr === undefined) {
      this.emit({
        type: 'pool-full',
        mac: req.mac,
        subnet: `${numToIp(subnet.network)}/${subnet.prefix}`,
      });
      return undefined;
    }
    const r = reply(req.packet, MsgType.OFFER, req.serverIp);
    r.yiaddr = numToIp(addr);
    return this.withConfig(r, req, subnet, subnet.leaseTime);
  }

  private nak(req: DhcpRequest, reason: string): DhcpPacket {
    this.emit({ type: 'nak', mac: req.mac, reason });
    const r = reply(req.packet, MsgType.NAK, req.serverIp);
    r.options.push(text(Opt.MESSAGE, reason));
    return r;
  }

  private async request(req: DhcpRequest, subnet: SubnetConfig): Promise<DhcpPacket | undefined> {
    const p = req.packet;
    const sid = optIp(p, Opt.SERVER_ID);
    const requested = optIp(p, Opt.REQUESTED_IP);
    const now = this.now();
    const current = this.leases.leaseOf(req.mac);
    let want: number | undefined;
    if (sid !== undefined) {
      // SELECTING: the client answers one server's OFFER.
      if (sid !== req.serverIp) {
        // It chose another server: our offer is void.
        if (current?.state === 'offered') this.leases.unbind(req.mac, current.ip);
        return undefined;
      }
      if (requested === undefined) return this.nak(req, 'REQUEST without requested address');
      want = ipToNum(requested);
      if (!current || current.ip !== want)
        return this.nak(req, `${requested} was not offered to this client`);
    } else if (requested !== undefined) {
      // INIT-REBOOT: the client checks an address it remembers.
      want = ipToNum(requested)!;
      if (this.leases.subnetOf(want) !== subnet)
        return this.nak(req, `${requested} is not on this network`);
      if (!current || current.ip !== want) {
        // Unknown to us: RFC 2131 says stay silent unless the address is wrong for the network.
        if (this.leases.holderOf(want, now))
          return this.nak(req, `${requested} belongs to another client`);
        return undefined;
      }
    } else if (p.ciaddr !== '0.0.0.0') {
      // RENEWING (unicast) or REBINDING (broadcast).
      want = ipToNum(p.ciaddr)!;
      if (!current || current.ip !== want)
        return this.nak(req, `${p.ciaddr} is not leased to this client`);
    } else return this.nak(req, 'REQUEST without server id, requested address or ciaddr');

    const expiresAt = now + subnet.leaseTime * 1000;
    if (!this.leases.bind(req.mac, want!, subnet, now, expiresAt))
      return this.nak(req, `${numToIp(want!)} is not available`);
    const addr = numToIp(want!);
    try {
      // Durable before the ACK leaves (group commit).
      await this.o.store.put({ mac: req.mac, ip: addr, expiresAt });
    } catch (e) {
      this.leases.unbind(req.mac, want!);
      this.emit({ type: 'write-failed', mac: req.mac, error: (e as Error).message });
      return undefined;
    }
    this.emit({ type: 'lease', mac: req.mac, ip: addr, expiresAt });
    const r = reply(p, MsgType.ACK, req.serverIp);
    r.yiaddr = addr;
    r.ciaddr = p.ciaddr;
    return this.withConfig(r, req, subnet, subnet.leaseTime);
  }

  private async release(req: DhcpRequest): Promise<undefined> {
    const addr = ipToNum(req.packet.ciaddr);
    if (addr !== undefined && this.leases.release(req.mac, addr)) {
      await this.o.store.remove(req.mac).catch(() => {});
      this.emit({ type: 'release', mac: req.mac, ip: req.packet.ciaddr });
    }
    return undefined;
  }

  private async decline(req: DhcpRequest): Promise<undefined> {
    const d = optIp(req.packet, Opt.REQUESTED_IP);
    const addr = d === undefined ? undefined : ipToNum(d);
    if (addr !== undefined && this.leases.decline(req.mac, addr, this.now(), this.declineMs)) {
      await this.o.store.remove(req.mac).catch(() => {});
      this.emit({ type: 'decline', mac: req.mac, ip: d! });
    }
    return undefined;
  }

  private inform(req: DhcpRequest, subnet: SubnetConfig): DhcpPacket {
    // Configuration only: no address, no lease time (RFC 2131 §4.3.5).
    const r = reply(req.packet, MsgType.ACK, req.serverIp);
    r.ciaddr = req.packet.ciaddr;
    return this.withConfig(r, req, subnet);
  }
}

/**
 * proxyDHCP (PXE spec §2.2.3): answers only PXE clients, never hands out addresses. On
 * port 67 it answers DISCOVER with an OFFER carrying only boot information; on 4011 it
 * answers the client's REQUEST with an ACK carrying the same.
 */
export class ProxyDhcp implements DhcpHandler {
  constructor(private readonly boot: BootPolicy) {}

  handle(req: DhcpRequest): DhcpPacket | undefined {
    const p = req.packet;
    const client = pxeClientOf(p, req.mac);
    if (!client) return undefined;
    let type: number;
    if (req.localPort === 4011 && (req.type === MsgType.REQUEST || req.type === MsgType.INFORM))
      type = MsgType.ACK;
    else if (
      req.localPort !== 4011 &&
      (req.type === MsgType.DISCOVER || req.type === MsgType.REQUEST)
    )
      type = req.type === MsgType.DISCOVER ? MsgType.OFFER : MsgType.ACK;
    else return undefined;
    // A proxy on 67 stays silent for REQUESTs addressed to the real server.
    if (req.localPort !== 4011 && req.type === MsgType.REQUEST) {
      const sid = optIp(p, Opt.SERVER_ID);
      if (sid !== req.serverIp) return undefined;
    }
    const r = reply(p, type, req.serverIp);
    r.ciaddr = p.ciaddr;
    if (!applyBoot(r, p, client, this.boot.bootFor(client), req.serverIp)) return undefined;
    // Option 60 PXEClient must be present in a proxy offer even for HTTP answers.
    if (!getOption(r, Opt.VENDOR_CLASS)) r.options.push(text(Opt.VENDOR_CLASS, 'PXEClient'));
    return r;
  }
}
