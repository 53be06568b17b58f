// Crash test for durable leases: SIGKILL pxm while perfdhcp drives DORA at it, restart,
// and check against a packet capture of every ACK that left the server: each
// acknowledged lease is in the lease database after the restart, with its MAC, and a
// second load from other clients is never given an acknowledged address.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { removeNs, vethPair, type VethPair } from '../helpers/netns.js';
import { LEASES_FILE } from '../../src/server/dhcp/attach.js';
import { MsgType, messageType } from '../../src/server/dhcp/options.js';
import { decodePacket, macOf } from '../../src/server/dhcp/packet.js';
import { startPxm, type PxmProc } from './dhcp-harness.js';

const ok = capable(
  all(haveRoot(), haveCommand('ip'), haveCommand('perfdhcp'), haveCommand('tcpdump')),
  'DHCP crash test',
);
const SRV = '10.80.0.1';
const CLI = '10.80.0.2';

/** ACKs (mac -> yiaddr, last one wins) in a pcap of Ethernet/IPv4/UDP DHCP packets. */
function acksInPcap(file: string): Map<string, string> {
  const b = readFileSync(file);
  const out = new Map<string, string>();
  if (b.length < 24) return out;
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8);
    const frame = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (frame[14]! & 0x0f) * 4;
    try {
      const p = decodePacket(frame.subarray(14 + ihl + 8));
      if (p.op === 2 && messageType(p) === MsgType.ACK) out.set(macOf(p), p.yiaddr);
    } catch {
      /* not DHCP, or cut short by the capture */
    }
  }
  return out;
}

function leaseRows(dataDir: string): Map<string, string> {
  const Driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Driver(path.join(dataDir, LEASES_FILE), { readonly: true });
  try {
    const rows = db.prepare<[], { mac: string; ip: string }>('SELECT mac, ip FROM leases').all();
    return new Map(rows.map((r) => [r.mac, r.ip]));
  } finally {
    db.close();
  }
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((r) =>
    p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r()),
  );
}

describe.skipIf(!ok)('DHCP leases survive SIGKILL under load', () => {
  let net: VethPair;
  let dir: string;
  const procs: ChildProcess[] = [];
  let pxm: PxmProc | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-crash-'));
    net = vethPair(`${SRV}/16`, 'pxk');
    execFileSync('ip', ['-n', net.clientNs, 'addr', 'add', `${CLI}/16`, 'dev', net.clientIf]);
    writeFileSync(
      path.join(dir, 'server.yaml'),
      'dhcp:\n  subnet: 10.80.0.0/16\n  range: [10.80.1.0, 10.80.254.254]\n',
    );
  });

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map(exited));
    await pxm?.stop('SIGKILL');
    if (net) removeNs(net.serverNs, net.clientNs);
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (): string[] => [
    '--data-dir',
    path.join(dir, 'data'),
    '--config',
    path.join(dir, 'server.yaml'),
    '--dhcp',
    'full',
    '--interface',
    net.serverIf,
    '--http-port',
    '5240',
    '--tftp-port',
    '6969',
  ];

  /** perfdhcp as a relay (giaddr CLI) for `seconds`, while tcpdump records the replies. */
  async function load(
    name: string,
    mac: string,
    seconds: number,
    during?: () => Promise<void>,
  ): Promise<Map<string, string>> {
    const pcap = path.join(dir, `${name}.pcap`);
    const dump = spawn(
      'ip',
      [
        'netns',
        'exec',
        net.clientNs,
        'tcpdump',
        '-U',
        '-n',
        '-s',
        '1500',
        '-i',
        net.clientIf,
        '-w',
        pcap,
        'udp port 67',
      ],
      { stdio: 'ignore' },
    );
    procs.push(dump);
    await new Promise((r) => setTimeout(r, 1000));
    const perf = spawn(
      'ip',
      [
        'netns',
        'exec',
        net.clientNs,
        'perfdhcp',
        '-4',
        '-g',
        'single',
        '-l',
        CLI,
        '-r',
        '400',
        '-R',
        '20000',
        '-b',
        `mac=${mac}`,
        '-p',
        String(seconds),
        SRV,
      ],
      { stdio: 'ignore' },
    );
    procs.push(perf);
    await during?.();
    await exited(perf);
    await new Promise((r) => setTimeout(r, 500));
    dump.kill('SIGINT');
    await exited(dump);
    return acksInPcap(pcap);
  }

  it('every ACK sent before the kill is on disk after restart, and no address is handed out twice', async () => {
    pxm = await startPxm(net.serverNs, args());
    const first = pxm;
    const acked = await load('crash', '02:aa:00:00:00:00', 6, async () => {
      await new Promise((r) => setTimeout(r, 3000));
      first.proc.kill('SIGKILL');
    });
    await first.stop();
    expect(acked.size, 'perfdhcp got no ACKs before the kill').toBeGreaterThan(100);

    // Restart on the same data dir: the server must come up with the leases it granted.
    pxm = await startPxm(net.serverNs, args());
    const second = await load('after', '02:bb:00:00:00:00', 3);
    await pxm.stop();
    pxm = undefined;
    expect(second.size).toBeGreaterThan(100);

    const rows = leaseRows(path.join(dir, 'data'));
    const lost = [...acked].filter(([mac, addr]) => rows.get(mac) !== addr);
    expect(lost, `acknowledged leases missing after the crash (of ${acked.size})`).toEqual([]);
    const ackedIps = new Set(acked.values());
    const reused = [...second].filter(([, addr]) => ackedIps.has(addr));
    expect(reused, 'addresses acknowledged before the crash given to other clients').toEqual([]);
  });
});
