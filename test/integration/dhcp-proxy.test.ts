// proxyDHCP beside another address server: dnsmasq hands out addresses on the namespace
// link, pxm (--dhcp proxy on the same interface, sharing port 67) adds boot information
// for PXE clients only, and answers boot requests on 4011.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { nsSpawn, removeNs, vethPair, type VethPair } from '../helpers/netns.js';
import {
  MsgType,
  Opt,
  getOption,
  ip,
  messageType,
  optIp,
  text,
} from '../../src/server/dhcp/options.js';
import { bootFileOf } from '../../src/server/dhcp/pxe.js';
import { probe, request, startPxm, type PxmProc } from './dhcp-harness.js';

const ok = capable(all(haveRoot(), haveCommand('ip'), haveCommand('dnsmasq')), 'DHCP proxy tests');
const SRV = '10.79.0.1';

describe.skipIf(!ok)('pxm DHCP proxy mode beside dnsmasq', () => {
  let net: VethPair;
  let dir: string;
  let pxm: PxmProc | undefined;
  let dnsmasq: ChildProcess | undefined;
  let dnsmasqOut = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-proxy-'));
    net = vethPair(`${SRV}/24`, 'pxp');
    // The client sends real broadcasts: give it an address and a route for 255.255.255.255.
    execFileSync('ip', ['-n', net.clientNs, 'addr', 'add', '10.79.0.2/24', 'dev', net.clientIf]);
    execFileSync('ip', ['-n', net.clientNs, 'route', 'add', 'default', 'dev', net.clientIf]);
    dnsmasq = nsSpawn(net.serverNs, [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      `--interface=${net.serverIf}`,
      '--bind-interfaces',
      '--dhcp-range=10.79.0.100,10.79.0.150,255.255.255.0,2m',
      '--leasefile-ro',
      '--no-ping',
      '--log-dhcp',
      '--pid-file=',
      '--user=root',
    ]);
    dnsmasq.stdout!.on('data', (d: Buffer) => (dnsmasqOut += d.toString()));
    dnsmasq.stderr!.on('data', (d: Buffer) => (dnsmasqOut += d.toString()));
    await new Promise((r) => setTimeout(r, 500));
    if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq exited: ${dnsmasqOut}`);
    pxm = await startPxm(net.serverNs, [
      '--data-dir',
      path.join(dir, 'data'),
      '--dhcp',
      'proxy',
      '--interface',
      net.serverIf,
      '--http-port',
      '5240',
      '--tftp-port',
      '69',
    ]);
  });

  afterAll(async () => {
    await pxm?.stop();
    if (dnsmasq && dnsmasq.exitCode === null) {
      dnsmasq.kill('SIGTERM');
      await new Promise((r) => dnsmasq!.once('exit', r));
    }
    if (net) removeNs(net.serverNs, net.clientNs);
    rmSync(dir, { recursive: true, force: true });
  });

  const pxeOpts = [
    text(Opt.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003016'),
    { code: Opt.CLIENT_ARCH, data: Buffer.from([0, 7]) },
    { code: Opt.CLIENT_UUID, data: Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0x5a)]) },
  ];
  const bcast = { address: '255.255.255.255', port: 67 };

  it('a PXE DISCOVER gets the address offer from dnsmasq and the boot offer from pxm', async () => {
    const replies = await probe(
      net.clientNs,
      { address: '0.0.0.0', port: 68 },
      [{ to: bcast, bytes: request(1, MsgType.DISCOVER, pxeOpts) }],
      2500,
    );
    const offers = replies.filter((r) => r.packet.xid === (0x1000 + 1) * 7);
    const address = offers.find((r) => r.packet.yiaddr !== '0.0.0.0');
    const boot = offers.find((r) => bootFileOf(r.packet) !== undefined);
    expect(address, `dnsmasq did not offer: ${dnsmasqOut}`).toBeDefined();
    expect(address!.packet.yiaddr).toMatch(/^10\.79\.0\.1\d\d$/);
    expect(boot, pxm!.log()).toBeDefined();
    expect(messageType(boot!.packet)).toBe(MsgType.OFFER);
    expect(boot!.packet.yiaddr).toBe('0.0.0.0');
    expect(boot!.packet.siaddr).toBe(SRV);
    expect(bootFileOf(boot!.packet)).toBe('bootx64.efi');
    expect(getOption(boot!.packet, Opt.VENDOR_CLASS)?.toString()).toBe('PXEClient');
    expect(getOption(boot!.packet, Opt.VENDOR_SPECIFIC)).toEqual(Buffer.from([6, 1, 8, 255]));
    expect(getOption(boot!.packet, Opt.CLIENT_UUID)).toEqual(pxeOpts[2]!.data);
    expect(getOption(boot!.packet, Opt.LEASE_TIME)).toBeUndefined();
  });

  it("a non-PXE DISCOVER gets only dnsmasq's offer", async () => {
    const replies = await probe(
      net.clientNs,
      { address: '0.0.0.0', port: 68 },
      [{ to: bcast, bytes: request(2, MsgType.DISCOVER) }],
      2500,
    );
    const mine = replies.filter((r) => r.packet.xid === (0x1000 + 2) * 7);
    expect(mine.length).toBeGreaterThan(0);
    expect(
      mine.every(
        (r) => optIp(r.packet, Opt.SERVER_ID) !== undefined && bootFileOf(r.packet) === undefined,
      ),
    ).toBe(true);
    expect(mine.some((r) => r.packet.yiaddr !== '0.0.0.0')).toBe(true);
  });

  it('answers a boot server REQUEST on port 4011 with an ACK carrying the boot file', async () => {
    const replies = await probe(net.clientNs, { address: '10.79.0.2', port: 68 }, [
      {
        to: { address: SRV, port: 4011 },
        bytes: request(3, MsgType.REQUEST, [...pxeOpts, ip(Opt.SERVER_ID, SRV)], {
          ciaddr: '10.79.0.2',
          flags: 0,
        }),
      },
    ]);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.from).toBe(SRV);
    expect(replies[0]!.port).toBe(4011);
    expect(messageType(replies[0]!.packet)).toBe(MsgType.ACK);
    expect(bootFileOf(replies[0]!.packet)).toBe('bootx64.efi');
  });
});
