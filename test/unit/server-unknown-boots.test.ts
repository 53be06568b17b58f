// Netboots of machines that are no node yet: the bounded in-memory record (MACs, events per
// MAC, age, name length), IP attribution from DHCP ACKs, the DHCP glue that feeds it, and
// adoption by the node that enlistment creates (boot events first, then created/enlist).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Controller } from '../../src/server/controller.js';
import { controllerBootPolicy, reportUnknownBoots } from '../../src/server/dhcp/attach.js';
import { parseDhcpConfig } from '../../src/server/dhcp/config.js';
import { FullDhcp } from '../../src/server/dhcp/engine.js';
import type { LeaseRow, LeaseStore } from '../../src/server/dhcp/lease-db.js';
import { MsgType, Opt, ip, text } from '../../src/server/dhcp/options.js';
import { decodePacket, encodePacket, type DhcpOption } from '../../src/server/dhcp/packet.js';
import type { DhcpHandler, DhcpRequest } from '../../src/server/dhcp/server.js';
import { clientPacket } from '../helpers/dhcp-request.js';
import { MetadataPolicy } from '../../src/server/metadata-policy.js';
import { SqliteStore } from '../../src/server/store/sqlite.js';
import { UnknownBoots, type BootStep } from '../../src/server/unknown-boots.js';

const A = '52:54:00:00:0a:01';
const B = '52:54:00:00:0b:01';
const sent = (filename: string, remote = '10.0.0.5', via: 'tftp' | 'http' = 'tftp'): BootStep => ({
  kind: 'file',
  via,
  filename,
  remote,
  result: 'sent',
});
const ack = (addr: string, bootFile?: string): BootStep => ({
  kind: 'dhcp',
  message: 'ACK',
  ip: addr,
  bootFile,
});

/** A clock the test moves. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('UnknownBoots (bounded record)', () => {
  it('keeps at most maxMacs MACs, forgetting the least recently active one', () => {
    const t = clock();
    const r = new UnknownBoots({ maxMacs: 3 }, t.now);
    for (const m of ['01', '02', '03']) {
      r.note(`52:54:00:00:00:${m}`, sent('lpxelinux.0'));
      t.t += 10;
    }
    r.note('52:54:00:00:00:01', sent('ldlinux.c32')); // 01 is active again
    r.note('52:54:00:00:00:04', sent('lpxelinux.0'));
    expect(r.size).toBe(3);
    expect(r.has('52:54:00:00:00:02')).toBe(false);
    expect(r.has('52:54:00:00:00:01')).toBe(true);
    expect(r.has('52:54:00:00:00:04')).toBe(true);
  });

  it('keeps the newest maxEventsPerMac events and says how many were dropped', () => {
    const t = clock();
    const r = new UnknownBoots({ maxEventsPerMac: 4 }, t.now);
    for (let i = 0; i < 10; i++) {
      r.note(A, sent(`file-${i}`));
      t.t += 1;
    }
    expect(r.events(A).map((e) => e.data.filename)).toEqual([
      'file-6',
      'file-7',
      'file-8',
      'file-9',
    ]);
    const taken = r.take([A]);
    expect(taken[0]!.summary).toBe(`(6 earlier boot events of ${A} were not kept)`);
    expect(taken.slice(1).map((e) => e.summary)).toEqual(
      [6, 7, 8, 9].map((i) => `tftp: file-${i} sent to 10.0.0.5`),
    );
    expect(r.size).toBe(0);
  });

  it('forgets events and MACs older than maxAgeMs', () => {
    const t = clock();
    const r = new UnknownBoots({ maxAgeMs: 60_000 }, t.now);
    r.note(A, ack('10.0.0.5', 'lpxelinux.0'));
    t.t += 30_000;
    r.note(A, sent('lpxelinux.0'));
    r.note(B, ack('10.0.0.6', 'lpxelinux.0'));
    t.t += 40_000; // A's ACK is now 70 s old, its file 40 s
    expect(r.events(A).map((e) => e.type)).toEqual(['boot']);
    expect(r.macAt('10.0.0.6')).toBe(B);
    t.t += 30_000; // everything is older than a minute
    expect(r.macAt('10.0.0.6')).toBeUndefined();
    expect(r.has(A)).toBe(false);
    expect(r.size).toBe(0);
    expect(r.take([A, B])).toEqual([]);
  });

  it('cuts long client-chosen names and replaces control characters', () => {
    const r = new UnknownBoots({ maxNameLength: 20 });
    r.note(A, sent(`${'x'.repeat(500)}`));
    r.note(A, sent('evil\x1b[2Jname\r\n'));
    r.note(A, { kind: 'dhcp', message: 'OFFER', ip: '10.0.0.5', bootFile: 'b'.repeat(300) });
    const [long, evil, offer] = r.events(A);
    expect(long!.data.filename).toBe(`${'x'.repeat(20)}...`);
    expect(long!.summary.length).toBeLessThan(60);
    expect(evil!.summary).toBe('tftp: evil?[2Jname?? sent to 10.0.0.5');
    expect(offer!.data.bootFile).toBe(`${'b'.repeat(20)}...`);
  });

  it('keeps DHCP without a boot file only for a MAC that is already netbooting', () => {
    const r = new UnknownBoots();
    r.note(A, ack('10.0.0.5')); // a plain DHCP client: not a netboot
    expect(r.has(A)).toBe(false);
    r.note(A, ack('10.0.0.5', 'http://10.0.0.1:5240/boot/ipxe'));
    r.note(A, ack('10.0.0.5')); // the booted OS's own DHCP
    expect(r.events(A).map((e) => e.summary)).toEqual([
      'dhcp: ACK 10.0.0.5, boot file http://10.0.0.1:5240/boot/ipxe',
      'dhcp: ACK 10.0.0.5, no boot file',
    ]);
  });

  it('attributes an address to the MAC its last ACK went to', () => {
    const r = new UnknownBoots({ maxMacs: 2 });
    r.note(A, { kind: 'dhcp', message: 'OFFER', ip: '10.0.0.5', bootFile: 'lpxelinux.0' });
    expect(r.macAt('10.0.0.5')).toBeUndefined(); // an offer binds nothing
    r.note(A, ack('10.0.0.5', 'lpxelinux.0'));
    expect(r.macAt('10.0.0.5')).toBe(A);
    expect(r.macAt('::ffff:10.0.0.5')).toBe(A);
    r.note(A, ack('10.0.0.7', 'lpxelinux.0')); // a new address for A
    expect(r.macAt('10.0.0.5')).toBeUndefined();
    r.note(B, ack('10.0.0.7', 'lpxelinux.0')); // the address moved to B
    expect(r.macAt('10.0.0.7')).toBe(B);
    r.note('52:54:00:00:0c:01', sent('x'));
    r.note('52:54:00:00:0d:01', sent('x')); // evicts A and then B
    expect(r.macAt('10.0.0.7')).toBeUndefined();
  });

  it('take merges one machine’s MACs in time order and leaves other MACs alone', () => {
    const t = clock();
    const r = new UnknownBoots({}, t.now);
    r.note(A, sent('one'));
    t.t += 5;
    r.note(B, sent('two'));
    t.t += 5;
    r.note(A, sent('three'));
    r.note('52:54:00:00:0c:01', sent('other'));
    expect(r.take([B, A, A]).map((e) => [e.time - 1_000_000, e.data.filename])).toEqual([
      [0, 'one'],
      [5, 'two'],
      [10, 'three'],
    ]);
    expect(r.size).toBe(1);
  });
});

describe('adoption by the node that enlistment creates', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-unknown-boots-'));
    store = new SqliteStore(path.join(dir, 'pxm.sqlite'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the netboot, then created and enlisting, with the original times', () => {
    const t = clock(Date.UTC(2026, 0, 1));
    const c = new Controller(store, { now: t.now });
    const policy = new MetadataPolicy(c, undefined);
    c.noteUnknownBoot(A.toUpperCase(), ack('10.0.0.5', 'http://10.0.0.1:5240/boot/ipxe'));
    t.t += 1000;
    c.noteUnknownBoot(A, sent('ipxe/52-54-00-00-0a-01', '10.0.0.5', 'http'));
    expect(c.unknownBootMacAt('10.0.0.5')).toBe(A);
    c.noteUnknownBoot(B, sent('lpxelinux.0', '10.0.0.9')); // another machine
    t.t += 60_000;
    const r = policy.enlist(
      {
        fields: new Map([
          ['mac_addresses', [A]],
          ['architecture', ['amd64/generic']],
        ]),
        files: [],
      },
      '10.0.0.5',
    );
    expect(r.created).toBe(true);
    const events = store.listEvents(r.systemId, {});
    expect(events.map((e) => [e.type, e.summary])).toEqual([
      ['dhcp', 'dhcp: ACK 10.0.0.5, boot file http://10.0.0.1:5240/boot/ipxe'],
      ['boot', 'http: ipxe/52-54-00-00-0a-01 sent to 10.0.0.5'],
      ['created', 'node created (enlistment from 10.0.0.5)'],
      ['enlist', `enlisting: registered from 10.0.0.5 with MAC ${A}, status NEW`],
    ]);
    expect(events.map((e) => e.time - Date.UTC(2026, 0, 1))).toEqual([0, 1000, 61_000, 61_000]);
    // Adopted: gone from the record, so the address no longer names an unknown MAC.
    expect(c.unknownBoots.has(A)).toBe(false);
    expect(c.unknownBootMacAt('10.0.0.5')).toBeUndefined();
    expect(c.unknownBoots.has(B)).toBe(true);
    // A second enlistment of the same machine adopts nothing and creates nothing.
    const again = policy.enlist(
      { fields: new Map([['mac_addresses', [A]]]), files: [] },
      '10.0.0.5',
    );
    expect(again).toMatchObject({ systemId: r.systemId, created: false });
  });

  it('an operator-added node adopts the netboot of its MAC too', () => {
    const c = new Controller(store);
    c.noteUnknownBoot(B, ack('10.0.0.9', 'lpxelinux.0'));
    const n = c.createNode({ hostname: 'added', macs: [B] }, 'api');
    expect(store.listEvents(n.id, {}).map((e) => e.type)).toEqual(['dhcp', 'created']);
  });
});

/** An in-memory lease store (the engine's durability is tested in dhcp-engine). */
class MemLeases implements LeaseStore {
  rows = new Map<string, LeaseRow>();
  loadAll = (): LeaseRow[] => [...this.rows.values()];
  put(l: LeaseRow): Promise<void> {
    this.rows.set(l.mac, l);
    return Promise.resolve();
  }
  remove(mac: string): Promise<void> {
    this.rows.delete(mac);
    return Promise.resolve();
  }
  close(): void {}
}

function request(mac: string, type: number, extra: DhcpOption[] = []): DhcpRequest {
  const packet = decodePacket(encodePacket(clientPacket(mac, type, extra, { xid: 7 })));
  const remote = { address: '0.0.0.0', port: 68 };
  return { packet, type, mac, remote, localPort: 67, serverIp: '10.7.0.1' };
}

describe('DHCP answers to unknown MACs (reportUnknownBoots)', () => {
  const cfg = parseDhcpConfig('t', { subnet: '10.7.0.0/24', range: ['10.7.0.100', '10.7.0.110'] });
  const ipxe = [
    text(Opt.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001'),
    text(Opt.USER_CLASS, 'iPXE'),
  ];

  async function dora(h: DhcpHandler, mac: string, extra = ipxe) {
    const offer = await h.handle(request(mac, MsgType.DISCOVER, extra));
    await h.handle(
      request(mac, MsgType.REQUEST, [
        ip(Opt.SERVER_ID, '10.7.0.1'),
        ip(Opt.REQUESTED_IP, offer!.yiaddr),
        ...extra,
      ]),
    );
  }

  it('reports OFFER and ACK with address and boot file for MACs that are no node', async () => {
    const notes: Array<[string, BootStep]> = [];
    const known = new Set(['52:54:00:00:00:99']);
    const h = reportUnknownBoots(
      new FullDhcp({
        config: cfg,
        store: new MemLeases(),
        boot: controllerBootPolicy('http://10.7.0.1:5240'),
      }),
      (mac) => known.has(mac),
      (mac, step) => notes.push([mac, step]),
    );
    await dora(h, A);
    await dora(h, '52:54:00:00:00:99'); // a node: its DHCP is not this record's
    expect(notes).toEqual([
      [
        A,
        {
          kind: 'dhcp',
          message: 'OFFER',
          ip: '10.7.0.100',
          bootFile: 'http://10.7.0.1:5240/boot/ipxe',
        },
      ],
      [
        A,
        {
          kind: 'dhcp',
          message: 'ACK',
          ip: '10.7.0.100',
          bootFile: 'http://10.7.0.1:5240/boot/ipxe',
        },
      ],
    ]);
    // A plain client's answer carries no boot file: the record itself ignores it unless
    // that MAC is already netbooting (see above).
    await dora(h, B, []);
    expect(notes.slice(2).map(([m, s]) => [m, s.kind === 'dhcp' && s.bootFile])).toEqual([
      [B, undefined],
      [B, undefined],
    ]);
  });
});
