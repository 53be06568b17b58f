// pxm server --dhcp full in a private namespace pair, exercised by the real clients
// (busybox udhcpc, ISC dhclient) and by raw packets for the paths clients do not take on
// demand (NAK, relay, malformed packets). Nothing leaves the namespaces this test creates.
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { removeNs, vethPair, type VethPair } from '../helpers/netns.js';
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
import {
  UDHCPC_SCRIPT,
  parseEvents,
  probe,
  request,
  startPxm,
  udhcpcOnce,
  type PxmProc,
} from './dhcp-harness.js';

const ok = capable(
  all(haveRoot(), haveCommand('ip'), haveCommand('busybox'), haveCommand('dhclient')),
  'DHCP client tests',
);

const SRV = '10.77.0.1';
const HTTP = `http://${SRV}:5240`;

describe.skipIf(!ok)('pxm DHCP (full mode) with real clients in namespaces', () => {
  let net: VethPair;
  let dir: string;
  let pxm: PxmProc | undefined;
  let script: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-it-'));
    net = vethPair(`${SRV}/24`, 'pxd');
    // A relay network behind the client namespace (10.78.0.0/24 via 10.77.0.2).
    execFileSync('ip', ['-n', net.clientNs, 'addr', 'add', '10.77.0.2/24', 'dev', net.clientIf]);
    execFileSync('ip', ['-n', net.clientNs, 'addr', 'add', '10.78.0.1/24', 'dev', 'lo']);
    execFileSync('ip', ['-n', net.serverNs, 'route', 'add', '10.78.0.0/24', 'via', '10.77.0.2']);
    writeFileSync(
      path.join(dir, 'server.yaml'),
      `dhcp:
  subnets:
    - subnet: 10.77.0.0/24
      range: [10.77.0.100, 10.77.0.199]
      router: 10.77.0.1
      dns: [10.77.0.1]
      lease_time: 120
    - subnet: 10.78.0.0/24
      range: [10.78.0.50, 10.78.0.60]
`,
    );
    script = path.join(dir, 'udhcpc.sh');
    writeFileSync(script, UDHCPC_SCRIPT);
    chmodSync(script, 0o755);
    pxm = await startPxm(net.serverNs, [
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
      '69',
    ]);
  });

  afterAll(async () => {
    await pxm?.stop();
    if (net) removeNs(net.serverNs, net.clientNs);
    rmSync(dir, { recursive: true, force: true });
  });

  it('states the interface and subnet it serves', () => {
    expect(pxm!.log()).toContain(`dhcp: full mode on ${net.serverIf} ${SRV} (10.77.0.0/24)`);
    // The start-up warm-up's own lease file is gone once it ran; only the real one stays.
    expect(readdirSync(path.join(dir, 'data')).filter((f) => f.startsWith('dhcp-'))).toEqual(
      expect.arrayContaining(['dhcp-leases.sqlite']),
    );
    expect(readdirSync(path.join(dir, 'data')).filter((f) => f.includes('warm-up'))).toEqual([]);
  });

  const setMac = (mac: string): void => {
    execFileSync('ip', ['-n', net.clientNs, 'link', 'set', net.clientIf, 'address', mac]);
  };

  const archCases: Array<[string, string[], string]> = [
    ['BIOS (93=0)', ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'], 'lpxelinux.0'],
    [
      'UEFI x64 (93=7)',
      ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'],
      'bootx64.efi',
    ],
    [
      'UEFI x64 (93=9)',
      ['-V', 'PXEClient:Arch:00009:UNDI:003016', '-x', '0x5d:0009'],
      'bootx64.efi',
    ],
    [
      'UEFI arm64 (93=11)',
      ['-V', 'PXEClient:Arch:00011:UNDI:003016', '-x', '0x5d:000b'],
      'bootaa64.efi',
    ],
    [
      'UEFI HTTP x64 (93=16)',
      ['-V', 'HTTPClient:Arch:00016:UNDI:003016', '-x', '0x5d:0010'],
      `${HTTP}/boot/ipxe.efi`,
    ],
    [
      'UEFI HTTP arm64 (93=19)',
      ['-V', 'HTTPClient:Arch:00019:UNDI:003016', '-x', '0x5d:0013'],
      `${HTTP}/boot/ipxe-arm64.efi`,
    ],
    [
      'iPXE (77=iPXE)',
      ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000', '-x', '0x4d:69505845'],
      `${HTTP}/boot/ipxe`,
    ],
  ];
  archCases.forEach(([name, args, want], i) => {
    it(`udhcpc ${name} gets a lease and boot file ${want}`, async () => {
      setMac(`02:00:00:00:01:${(i + 16).toString(16)}`);
      const r = await udhcpcOnce(net.clientNs, net.clientIf, script, args);
      const bound = r.events.find((e) => e.event === 'bound');
      expect(bound, r.output).toBeDefined();
      expect(bound!.ip).toMatch(/^10\.77\.0\.1\d\d$/);
      expect(bound!.boot_file).toBe(want);
      expect(bound!.serverid).toBe(SRV);
      expect(bound!.lease).toBe('120');
      if (!want.startsWith('http')) expect(bound!.siaddr).toBe(SRV);
    });
  });

  it('a plain (non-PXE) client gets a lease without a boot file', async () => {
    setMac('02:00:00:00:02:01');
    const r = await udhcpcOnce(net.clientNs, net.clientIf, script, []);
    const bound = r.events.find((e) => e.event === 'bound');
    expect(bound, r.output).toBeDefined();
    expect(bound!.boot_file).toBe('');
  });

  it('ISC dhclient with option 93 from its config file gets the right boot file', async () => {
    setMac('02:00:00:00:03:01');
    const conf = path.join(dir, 'dhclient.conf');
    const events = path.join(dir, 'dhclient.events');
    const dscript = path.join(dir, 'dhclient.sh');
    writeFileSync(
      conf,
      `option pxe-arch code 93 = unsigned integer 16;
send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";
send pxe-arch 7;
request subnet-mask, routers, domain-name-servers;
`,
    );
    writeFileSync(
      dscript,
      `#!/bin/sh\necho "EVENT event=$reason ip=$new_ip_address boot_file=$new_filename siaddr=$new_next_server lease=$new_dhcp_lease_time" >> ${events}\n`,
    );
    chmodSync(dscript, 0o755);
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        net.clientNs,
        'dhclient',
        '-4',
        '-d',
        '-1',
        '-cf',
        conf,
        '-sf',
        dscript,
        '-lf',
        path.join(dir, 'dhclient.leases'),
        '-pf',
        path.join(dir, 'dhclient.pid'),
        net.clientIf,
      ],
      { stdio: 'ignore' },
    );
    try {
      for (
        let i = 0;
        i < 200 && !(existsSync(events) && /BOUND/.test(readFileSync(events, 'utf8')));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
    }
    const bound = parseEvents(readFileSync(events, 'utf8')).find((e) => e.event === 'BOUND');
    expect(bound).toBeDefined();
    expect(bound!.ip).toMatch(/^10\.77\.0\.1\d\d$/);
    expect(bound!.boot_file).toBe('bootx64.efi');
    expect(bound!.lease).toBe('120');
  });

  it('udhcpc renews (SIGUSR1) and releases (SIGUSR2); the release frees the address', async () => {
    setMac('02:00:00:00:04:01');
    const cfgScript = path.join(dir, 'udhcpc-cfg.sh');
    // Renewal is unicast from the leased address, so this script configures it.
    writeFileSync(
      cfgScript,
      `#!/bin/sh
case "$1" in
  bound|renew) ip addr add "$ip/24" dev "$interface" 2>/dev/null ;;
  deconfig) ip -4 addr flush dev "$interface" scope global; ip addr add 10.77.0.2/24 dev "$interface" ;;
esac
${UDHCPC_SCRIPT.split('\n')[1]}
`,
    );
    chmodSync(cfgScript, 0o755);
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        net.clientNs,
        'busybox',
        'udhcpc',
        '-i',
        net.clientIf,
        '-f',
        '-t',
        '4',
        '-T',
        '2',
        '-s',
        cfgScript,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 150 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await waitFor(/event=bound/);
      const leased = parseEvents(out).find((e) => e.event === 'bound')?.ip;
      expect(leased, out).toMatch(/^10\.77\.0\.1\d\d$/);
      p.kill('SIGUSR1');
      await waitFor(/event=renew/);
      expect(parseEvents(out).find((e) => e.event === 'renew')?.ip, out).toBe(leased);
      p.kill('SIGUSR2');
      await waitFor(/released/);
      for (let i = 0; i < 50 && !pxm!.log().includes(`released ${leased}`); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(pxm!.log()).toContain(`02:00:00:00:04:01 released ${leased}`);
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
      execFileSync('ip', ['-n', net.clientNs, 'addr', 'flush', 'dev', net.clientIf]);
      execFileSync('ip', ['-n', net.clientNs, 'addr', 'add', '10.77.0.2/24', 'dev', net.clientIf]);
    }
  });

  it('NAKs a REQUEST for an address off this network and one held by another client (broadcast)', async () => {
    // Sent unicast (the client namespace has no default route for a broadcast send); the
    // NAK must come back broadcast to port 68, where a client without an address listens.
    const bind = { address: '0.0.0.0', port: 68 };
    const to = { address: SRV, port: 67 };
    const replies = await probe(net.clientNs, bind, [
      { to, bytes: request(1, MsgType.REQUEST, [ip(Opt.REQUESTED_IP, '192.168.9.9')]) },
      // 10.77.0.100 went to the first udhcpc client above.
      { to, bytes: request(2, MsgType.REQUEST, [ip(Opt.REQUESTED_IP, '10.77.0.100')]) },
    ]);
    const nak1 = replies.find((r) => r.packet.xid === (0x1000 + 1) * 7);
    expect(nak1 && messageType(nak1.packet)).toBe(MsgType.NAK);
    expect(getOption(nak1!.packet, Opt.MESSAGE)?.toString()).toMatch(/not on this network/);
    const nak2 = replies.find((r) => r.packet.xid === (0x1000 + 2) * 7);
    expect(nak2 && messageType(nak2.packet)).toBe(MsgType.NAK);
    expect(getOption(nak2!.packet, Opt.MESSAGE)?.toString()).toMatch(/belongs to another client/);
  });

  it('serves a relayed DISCOVER/REQUEST from the relay subnet and answers the relay on port 67', async () => {
    const relay = { address: '10.78.0.1', port: 67 };
    const to = { address: SRV, port: 67 };
    const pxeOpts = [
      text(Opt.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001'),
      { code: Opt.CLIENT_ARCH, data: Buffer.from([0, 0]) },
    ];
    const [offer] = await probe(net.clientNs, relay, [
      {
        to,
        bytes: request(40, MsgType.DISCOVER, pxeOpts, { giaddr: '10.78.0.1', hops: 1, flags: 0 }),
      },
    ]);
    expect(offer, 'no OFFER came back to the relay').toBeDefined();
    expect(offer!.from).toBe(SRV);
    expect(offer!.port).toBe(67);
    expect(messageType(offer!.packet)).toBe(MsgType.OFFER);
    expect(offer!.packet.yiaddr).toMatch(/^10\.78\.0\.(5\d|60)$/);
    expect(bootFileOf(offer!.packet)).toBe('lpxelinux.0');
    const [ack] = await probe(net.clientNs, relay, [
      {
        to,
        bytes: request(
          40,
          MsgType.REQUEST,
          [ip(Opt.SERVER_ID, SRV), ip(Opt.REQUESTED_IP, offer!.packet.yiaddr), ...pxeOpts],
          { giaddr: '10.78.0.1', hops: 1, flags: 0 },
        ),
      },
    ]);
    expect(ack && messageType(ack.packet)).toBe(MsgType.ACK);
    expect(ack!.packet.yiaddr).toBe(offer!.packet.yiaddr);
    expect(optIp(ack!.packet, Opt.SUBNET_MASK)).toBe('255.255.255.0');
  });

  it('keeps answering after malformed packets, and logs what was wrong', async () => {
    const to = { address: SRV, port: 67 };
    const good = request(50, MsgType.DISCOVER, [], { giaddr: '10.77.0.2', flags: 0 });
    const badCookie = Buffer.from(good);
    badCookie.writeUInt32BE(0xdeadbeef, 236);
    const overrun = Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 60, 200, 1, 2])]);
    const badArch = request(
      51,
      MsgType.DISCOVER,
      [text(Opt.VENDOR_CLASS, 'PXEClient'), { code: 93, data: Buffer.from([7]) }],
      { giaddr: '10.77.0.2' },
    );
    const replies = await probe(net.clientNs, { address: '10.77.0.2', port: 67 }, [
      { to, bytes: Buffer.from('garbage') },
      { to, bytes: badCookie },
      { to, bytes: overrun },
      { to, bytes: badArch },
      { to, bytes: good, pauseMs: 100 },
    ]);
    expect(replies.map((r) => messageType(r.packet))).toEqual([MsgType.OFFER]);
    expect(replies[0]!.packet.xid).toBe((0x1000 + 50) * 7);
    const log = pxm!.log();
    expect(log).toMatch(/malformed packet .*magic cookie: 0xdeadbeef/);
    expect(log).toMatch(/malformed packet .*options: option 60: length 200 overruns/);
    expect(log).toMatch(/malformed packet .*option 93 \(client architecture\)/);
  });

  // Last in this file: it stops the server.
  it('on shutdown reports its lease writes and group commits', async () => {
    expect(await pxm!.stop()).toBe(0);
    const m =
      /dhcp: (\d+) lease writes in (\d+) group commits \(largest (\d+), slowest \d+ ms\)/.exec(
        pxm!.log(),
      );
    expect(m, pxm!.log()).not.toBeNull();
    const [writes, commits, largest] = [m![1], m![2], m![3]].map(Number);
    // The leases, renewals and release of the tests above were all written.
    expect(writes).toBeGreaterThanOrEqual(5);
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(writes!);
    expect(largest).toBeGreaterThan(0);
  });
});
