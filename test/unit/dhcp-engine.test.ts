import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controllerBootPolicy } from '../../src/server/dhcp/attach.js';
import { parseDhcpConfig } from '../../src/server/dhcp/config.js';
import { FullDhcp, ProxyDhcp } from '../../src/server/dhcp/engine.js';
import {
  SqliteLeaseStore,
  type LeaseRow,
  type LeaseStore,
} from '../../src/server/dhcp/lease-db.js';
import { WorkerLeaseStore } from '../../src/server/dhcp/lease-worker.js';
import { clientPacket } from '../helpers/dhcp-request.js';
import {
  decodePacket,
  encodePacket,
  fieldText,
  type DhcpOption,
  type DhcpPacket,
} from '../../src/server/dhcp/packet.js';
import {
  MsgType,
  Opt,
  getOption,
  messageType,
  optIp,
  ip,
  text,
} from '../../src/server/dhcp/options.js';
import { bootFileOf } from '../../src/server/dhcp/pxe.js';
import type { DhcpRequest } from '../../src/server/dhcp/server.js';
import { replyDestination } from '../../src/server/dhcp/server.js';

const SERVER = '10.7.0.1';
const cfg = parseDhcpConfig('test.yaml: dhcp', {
  subnets: [
    {
      subnet: '10.7.0.0/24',
      range: ['10.7.0.100', '10.7.0.102'],
      router: '10.7.0.1',
      dns: ['10.7.0.1'],
      lease_time: 600,
    },
    { subnet: '10.8.0.0/24', range: ['10.8.0.10', '10.8.0.20'] },
  ],
});
const boot = controllerBootPolicy('http://10.7.0.1:5240');

/** An in-memory LeaseStore that records what reached "disk" and when. */
class MemStore implements LeaseStore {
  rows = new Map<string, LeaseRow>();
  log: string[] = [];
  loadAll = (): LeaseRow[] => [...this.rows.values()];
  put(l: LeaseRow): Promise<void> {
    this.rows.set(l.mac, l);
    this.log.push(`put ${l.mac} ${l.ip}`);
    return Promise.resolve();
  }
  remove(mac: string): Promise<void> {
    this.rows.delete(mac);
    this.log.push(`remove ${mac}`);
    return Promise.resolve();
  }
  close(): void {}
}

function pkt(
  mac: number,
  type: number,
  opts: DhcpOption[] = [],
  over: Partial<DhcpPacket> = {},
): DhcpRequest {
  const packet = clientPacket([0x52, 0x54, 0, 0, 0, mac], type, opts, {
    xid: 1000 + mac,
    ...over,
  });
  // Through the codec, as the server would see it.
  const p = decodePacket(encodePacket(packet));
  return {
    packet: p,
    type,
    mac: `52:54:00:00:00:${mac.toString(16).padStart(2, '0')}`,
    remote: { address: '0.0.0.0', port: 68 },
    localPort: 67,
    serverIp: SERVER,
  };
}

const pxe = (arch: number, extra: DhcpOption[] = []): DhcpOption[] => [
  text(Opt.VENDOR_CLASS, `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016`),
  { code: Opt.CLIENT_ARCH, data: Buffer.from([0, arch]) },
  { code: Opt.CLIENT_UUID, data: Buffer.alloc(17, 0xab).fill(0, 0, 1) },
  ...extra,
];

async function dora(e: FullDhcp, mac: number, opts: DhcpOption[] = []): Promise<DhcpPacket> {
  const offer = await e.handle(pkt(mac, MsgType.DISCOVER, opts));
  expect(offer && messageType(offer)).toBe(MsgType.OFFER);
  const ack = await e.handle(
    pkt(mac, MsgType.REQUEST, [
      ip(Opt.SERVER_ID, SERVER),
      ip(Opt.REQUESTED_IP, offer!.yiaddr),
      ...opts,
    ]),
  );
  expect(ack && messageType(ack)).toBe(MsgType.ACK);
  return ack!;
}

describe('full DHCP', () => {
  it('DISCOVER/OFFER/REQUEST/ACK with lease time, T1/T2, subnet options; written before ACK', async () => {
    const store = new MemStore();
    const e = new FullDhcp({ config: cfg, store, boot });
    const ack = await dora(e, 1);
    expect(ack.yiaddr).toBe('10.7.0.100');
    expect(getOption(ack, Opt.LEASE_TIME)!.readUInt32BE()).toBe(600);
    expect(getOption(ack, Opt.RENEWAL_T1)!.readUInt32BE()).toBe(300);
    expect(getOption(ack, Opt.REBINDING_T2)!.readUInt32BE()).toBe(525);
    expect(optIp(ack, Opt.SUBNET_MASK)).toBe('255.255.255.0');
    expect(optIp(ack, Opt.ROUTER)).toBe('10.7.0.1');
    expect(optIp(ack, Opt.SERVER_ID)).toBe(SERVER);
    expect(store.rows.get('52:54:00:00:00:01')?.ip).toBe('10.7.0.100');
    // A second client gets a different address.
    expect((await dora(e, 2)).yiaddr).toBe('10.7.0.101');
  });

  it('picks the boot file by option 93 and user class iPXE; no boot info for plain clients', async () => {
    const e = new FullDhcp({ config: cfg, store: new MemStore(), boot });
    const bios = await dora(e, 10, pxe(0));
    expect(bootFileOf(bios)).toBe('lpxelinux.0');
    expect(bios.siaddr).toBe(SERVER);
    expect(fieldText(bios.file)).toBe('lpxelinux.0');
    expect(getOption(bios, Opt.CLIENT_UUID)).toEqual(Buffer.alloc(17, 0xab).fill(0, 0, 1));
    expect(getOption(bios, Opt.VENDOR_SPECIFIC)).toBeDefined();
    const cases: Array<[number, DhcpOption[], string]> = [
      [7, pxe(7), 'bootx64.efi'],
      [9, pxe(9), 'bootx64.efi'],
      [11, pxe(11), 'bootaa64.efi'],
      [
        16,
        [
          text(Opt.VENDOR_CLASS, 'HTTPClient:Arch:00016:UNDI:003016'),
          { code: 93, data: Buffer.from([0, 16]) },
        ],
        'http://10.7.0.1:5240/boot/ipxe.efi',
      ],
      [0, pxe(0, [text(Opt.USER_CLASS, 'iPXE')]), 'http://10.7.0.1:5240/boot/ipxe'],
    ];
    let mac = 11;
    for (const [, opts, want] of cases) {
      const big = new FullDhcp({
        config: parseDhcpConfig('t', { subnet: '10.7.0.0/24', range: ['10.7.0.10', '10.7.0.90'] }),
        store: new MemStore(),
        boot,
      });
      expect(bootFileOf(await dora(big, mac++, opts))).toBe(want);
    }
    const http = await new FullDhcp({
      config: parseDhcpConfig('t', { subnet: '10.7.0.0/24', range: ['10.7.0.10', '10.7.0.90'] }),
      store: new MemStore(),
      boot,
    }).handle(pkt(30, MsgType.DISCOVER, cases[3]![1]));
    expect(getOption(http!, Opt.VENDOR_CLASS)?.toString()).toBe('HTTPClient');
    const plain = await dora(e, 31);
    expect(bootFileOf(plain)).toBeUndefined();
  });

  it('renews from ciaddr, NAKs a foreign or unknown address, stays silent for another server', async () => {
    const store = new MemStore();
    const e = new FullDhcp({ config: cfg, store, boot });
    const ack = await dora(e, 1);
    const renew = await e.handle(pkt(1, MsgType.REQUEST, [], { ciaddr: ack.yiaddr }));
    expect(messageType(renew!)).toBe(MsgType.ACK);
    expect(renew!.yiaddr).toBe(ack.yiaddr);
    const stolen = await e.handle(pkt(2, MsgType.REQUEST, [], { ciaddr: ack.yiaddr }));
    expect(messageType(stolen!)).toBe(MsgType.NAK);
    const offNet = await e.handle(pkt(3, MsgType.REQUEST, [ip(Opt.REQUESTED_IP, '192.168.1.5')]));
    expect(messageType(offNet!)).toBe(MsgType.NAK);
    expect(getOption(offNet!, Opt.MESSAGE)?.toString()).toMatch(/not on this network/);
    const other = await e.handle(
      pkt(4, MsgType.REQUEST, [ip(Opt.SERVER_ID, '10.7.0.9'), ip(Opt.REQUESTED_IP, '10.7.0.101')]),
    );
    expect(other).toBeUndefined();
    // INIT-REBOOT for an address the client holds: ACK.
    const reboot = await e.handle(pkt(1, MsgType.REQUEST, [ip(Opt.REQUESTED_IP, ack.yiaddr)]));
    expect(messageType(reboot!)).toBe(MsgType.ACK);
  });

  it('RELEASE frees the address on disk; DECLINE keeps it out of the pool', async () => {
    const store = new MemStore();
    const e = new FullDhcp({ config: cfg, store, boot });
    const a = await dora(e, 1);
    await e.handle(pkt(1, MsgType.RELEASE, [ip(Opt.SERVER_ID, SERVER)], { ciaddr: a.yiaddr }));
    expect(store.rows.has('52:54:00:00:00:01')).toBe(false);
    const b = await dora(e, 2);
    await e.handle(
      pkt(2, MsgType.DECLINE, [ip(Opt.SERVER_ID, SERVER), ip(Opt.REQUESTED_IP, b.yiaddr)]),
    );
    // The declined address is not offered again, to anyone.
    const offers = [];
    for (const m of [3, 4]) offers.push((await e.handle(pkt(m, MsgType.DISCOVER)))?.yiaddr);
    expect(offers).not.toContain(b.yiaddr);
  });

  it('serves relayed requests from the giaddr subnet and replies to the relay on 67', async () => {
    const e = new FullDhcp({ config: cfg, store: new MemStore(), boot });
    const req = pkt(5, MsgType.DISCOVER, [], { giaddr: '10.8.0.1', hops: 1 });
    const offer = await e.handle(req);
    expect(offer!.yiaddr).toBe('10.8.0.10');
    expect(offer!.giaddr).toBe('10.8.0.1');
    expect(
      replyDestination(req.packet, offer!, req.remote, 67, { server: 67, client: 68 }),
    ).toEqual({ address: '10.8.0.1', port: 67 });
    // Unknown relay network: silence.
    expect(await e.handle(pkt(6, MsgType.DISCOVER, [], { giaddr: '172.16.0.1' }))).toBeUndefined();
  });

  it('answers INFORM without an address or lease time', async () => {
    const e = new FullDhcp({ config: cfg, store: new MemStore(), boot });
    const r = await e.handle(pkt(7, MsgType.INFORM, [], { ciaddr: '10.7.0.50' }));
    expect(messageType(r!)).toBe(MsgType.ACK);
    expect(r!.yiaddr).toBe('0.0.0.0');
    expect(getOption(r!, Opt.LEASE_TIME)).toBeUndefined();
    expect(
      replyDestination(
        pkt(7, 8, [], { ciaddr: '10.7.0.50' }).packet,
        r!,
        { address: '10.7.0.50', port: 68 },
        67,
        { server: 67, client: 68 },
      ).address,
    ).toBe('10.7.0.50');
  });

  it('stops offering when the pool is exhausted, and reservations win over the pool', async () => {
    const store = new MemStore();
    const reservations = {
      reservedIp: (m: string) => (m.endsWith(':09') ? '10.7.0.50' : undefined),
      isReserved: (a: string) => a === '10.7.0.101',
    };
    const e = new FullDhcp({ config: cfg, store, boot, reservations });
    const got = [];
    for (const m of [1, 2, 3]) got.push((await e.handle(pkt(m, MsgType.DISCOVER)))?.yiaddr);
    // .101 is reserved for a node: skipped; the range has .100-.102.
    expect(got).toEqual(['10.7.0.100', '10.7.0.102', undefined]);
    expect((await dora(e, 9)).yiaddr).toBe('10.7.0.50');
  });

  it('does not ACK when the lease write fails', async () => {
    const store = new MemStore();
    store.put = () => Promise.reject(new Error('disk full'));
    const events: string[] = [];
    const e = new FullDhcp({ config: cfg, store, boot, onEvent: (x) => events.push(x.type) });
    const offer = await e.handle(pkt(1, MsgType.DISCOVER));
    const r = await e.handle(
      pkt(1, MsgType.REQUEST, [ip(Opt.SERVER_ID, SERVER), ip(Opt.REQUESTED_IP, offer!.yiaddr)]),
    );
    expect(r).toBeUndefined();
    expect(events).toContain('write-failed');
  });
});

describe('proxy DHCP', () => {
  const proxy = new ProxyDhcp(boot);
  it('answers only PXE clients, with boot info and no address', () => {
    expect(proxy.handle(pkt(1, MsgType.DISCOVER))).toBeUndefined();
    const r = proxy.handle(pkt(1, MsgType.DISCOVER, pxe(7)))!;
    expect(messageType(r)).toBe(MsgType.OFFER);
    expect(r.yiaddr).toBe('0.0.0.0');
    expect(bootFileOf(r)).toBe('bootx64.efi');
    expect(getOption(r, Opt.VENDOR_CLASS)?.toString()).toBe('PXEClient');
    expect(getOption(r, Opt.LEASE_TIME)).toBeUndefined();
  });
  it('ACKs REQUESTs on 4011 and ignores REQUESTs for the address server on 67', () => {
    const onPxe = {
      ...pkt(1, MsgType.REQUEST, pxe(0), { ciaddr: '10.7.0.77' }),
      localPort: 4011,
      remote: { address: '10.7.0.77', port: 68 },
    };
    const r = proxy.handle(onPxe)!;
    expect(messageType(r)).toBe(MsgType.ACK);
    expect(bootFileOf(r)).toBe('lpxelinux.0');
    expect(
      replyDestination(onPxe.packet, r, onPxe.remote, 4011, { server: 67, client: 68 }),
    ).toEqual({ address: '10.7.0.77', port: 68 });
    expect(
      proxy.handle(pkt(1, MsgType.REQUEST, [...pxe(0), ip(Opt.SERVER_ID, '10.7.0.2')])),
    ).toBeUndefined();
  });
});

describe('SQLite lease store (group commit)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('commits concurrent writes in one batch and they survive a reopen', async () => {
    const file = path.join(dir, 'leases.sqlite');
    const s = new SqliteLeaseStore(file, { windowMs: 5 });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        s.put({ mac: `m${i}`, ip: `10.0.0.${i + 1}`, expiresAt: 1000 + i }),
      ),
    );
    expect(s.stats).toEqual({ batches: 1, writes: 100 });
    // An address moving to another MAC replaces the old owner's row (ip is unique).
    await s.put({ mac: 'new', ip: '10.0.0.1', expiresAt: 5 });
    await s.remove('m1');
    s.close();
    const again = new SqliteLeaseStore(file);
    const rows = again.loadAll();
    again.close();
    expect(rows).toHaveLength(99);
    expect(rows.find((r) => r.ip === '10.0.0.1')?.mac).toBe('new');
    expect(rows.find((r) => r.mac === 'm1')).toBeUndefined();
  });
});

describe('worker lease store (commits off the event loop)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-w-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('settles each write after its batch commits; batches form while a commit runs; survives reopen', async () => {
    const file = path.join(dir, 'leases.sqlite');
    const s = new WorkerLeaseStore(file);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        s.put({ mac: `m${i}`, ip: `10.1.${i >> 8}.${i & 255}`, expiresAt: i }),
      ),
    );
    expect(s.stats.writes).toBe(300);
    expect(s.stats.batches).toBeLessThan(300);
    expect(s.stats.largest).toBeGreaterThan(1);
    await s.remove('m0');
    // An address moving to another MAC replaces the old owner's row (ip is unique), and a
    // MAC moving to another address keeps one row.
    await s.put({ mac: 'new', ip: '10.1.0.5', expiresAt: 7 });
    await s.put({ mac: 'm6', ip: '10.1.9.9', expiresAt: 8 });
    await s.closeAsync();
    const again = new WorkerLeaseStore(file);
    const rows = again.loadAll();
    await again.closeAsync();
    expect(rows).toHaveLength(299);
    expect(rows.find((r) => r.mac === 'm0')).toBeUndefined();
    expect(rows.find((r) => r.ip === '10.1.0.5')?.mac).toBe('new');
    expect(rows.filter((r) => r.mac === 'm6')).toEqual([
      { mac: 'm6', ip: '10.1.9.9', expiresAt: 8 },
    ]);
  });

  it('holds a batch until its first write is gatherMs old, so writes of one burst share a commit', async () => {
    // One burst of 10 writes, queued in one tick once the worker is up. Without the wait
    // the first write goes alone and the other 9 follow as a second commit.
    const commitsFor = async (gatherMs: number): Promise<number> => {
      const s = new WorkerLeaseStore(path.join(dir, `gather-${gatherMs}.sqlite`), { gatherMs });
      await s.put({ mac: 'first', ip: '10.2.0.1', expiresAt: 1 });
      const before = s.stats.batches;
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          s.put({ mac: `g${i}`, ip: `10.2.1.${i}`, expiresAt: i }),
        ),
      );
      const commits = s.stats.batches - before;
      await s.closeAsync();
      return commits;
    };
    expect(await commitsFor(0)).toBe(2);
    expect(await commitsFor(30)).toBe(1);
  });

  it('close commits a batch that is still gathering', async () => {
    const file = path.join(dir, 'gather-close.sqlite');
    const s = new WorkerLeaseStore(file, { gatherMs: 60_000 });
    const written = s.put({ mac: 'late', ip: '10.3.0.1', expiresAt: 9 });
    await s.closeAsync();
    await written;
    const again = new WorkerLeaseStore(file);
    const rows = again.loadAll();
    await again.closeAsync();
    expect(rows).toEqual([{ mac: 'late', ip: '10.3.0.1', expiresAt: 9 }]);
  });
});
