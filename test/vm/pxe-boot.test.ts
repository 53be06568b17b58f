// A real network boot from `pxm server` end to end: qemu (software emulation, SeaBIOS and
// Debian's iPXE option ROM for virtio-net) on a tap device in a private namespace, pxm
// serving DHCP (full mode) and boot files from a fresh data dir holding Debian's loaders
// and the test ephemeral image. The guest's firmware is iPXE (user class "iPXE"), so pxm
// answers with the iPXE script URL (docs/dhcp.md, "Boot information"); the script for an
// unknown MAC is the enlist boot. A second guest takes the pxelinux path from the iPXE
// prompt (typed on the serial console) so the TFTP side is exercised too: lpxelinux.0,
// ldlinux.c32 and the pxelinux.cfg lookups, seen as TFTP read requests on the bridge.
// Those two guests are stopped as soon as the kernel prints its banner. A third one boots
// on into the ephemeral image, whose cloud-init enlists it through the MAAS API; then the
// real CLI (`pxm login`, `pxm nodes list/show/events`) shows the new node with its
// netboot (DHCP, iPXE scripts, kernel, initrd, squashfs) before `created` and `enlist`.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { startGuest, type Guest } from '../helpers/pxe-guest.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveFile } from '../helpers/capability.js';
import { createPxeNet, hasCarrier, type PxeNet } from '../helpers/pxe-net.js';
import { bundlePath, pxm } from '../helpers/pxm.js';
import { ensureTestImage, vmCapability, type TestImage } from '../helpers/vm-image.js';
import { startPxm, type PxmProc } from '../integration/dhcp-harness.js';

const ok = capable(
  all(
    vmCapability(),
    haveCommand('ip'),
    haveCommand('timeout'),
    haveCommand('tcpdump'),
    haveFile('/usr/lib/PXELINUX/lpxelinux.0'),
    haveFile('/usr/lib/syslinux/modules/bios/ldlinux.c32'),
    haveFile('/usr/lib/ipxe/qemu/pxe-virtio.rom'),
  ),
  'PXE boot of a qemu guest from pxm server',
);

const SRV = '10.79.0.1';
const HTTP = `http://${SRV}:5240`;
/** Upper bound for the whole guest run (TCG: ~30 s here, up to minutes on a loaded host). */
const GUEST_SECONDS = 300;
/** Up to enlistment: squashfs download, systemd and cloud-init under TCG (2-7 min here). */
const ENLIST_SECONDS = 1200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Escape for a literal inside a RegExp. */
const lit = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe.skipIf(!ok)('PXE boot of a qemu guest from pxm server', () => {
  let image: TestImage;
  let dir: string;
  let data: string;
  let config: string;
  let net: PxeNet | undefined;
  let server: PxmProc | undefined;
  let guest: Guest | undefined;
  let tcpdump: ChildProcess | undefined;

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-pxe-'));
    data = path.join(dir, 'data');
    config = path.join(dir, 'server.yaml');
    writeFileSync(
      config,
      `dhcp:\n  subnet: 10.79.0.0/24\n  range: [10.79.0.100, 10.79.0.199]\n  lease_time: 600\n`,
    );
    const deb = await pxm(['images', 'import', '--data-dir', data, '--debian']);
    expect(deb.exitCode, String(deb.stderr)).toBe(0);
    expect(String(deb.stdout)).toMatch(/imported lpxelinux\.0/);
    expect(String(deb.stdout)).toMatch(/imported ldlinux\.c32/);
    const eph = await pxm(['images', 'import', '--data-dir', data, '--ephemeral', image.dir]);
    expect(eph.exitCode, String(eph.stderr)).toBe(0);
    // Software emulation on a loaded host fails the kernel's check of the timer interrupt
    // ("IO-APIC + timer doesn't work!", a panic, so the guest resets): skip that check,
    // as virtual machines commonly do. The image's other parameters stay as imported.
    const registry = path.join(data, 'boot-assets.json');
    const assets = JSON.parse(readFileSync(registry, 'utf8')) as {
      images: { amd64: { extraParams: string } };
    };
    assets.images.amd64.extraParams += ' no_timer_check';
    writeFileSync(registry, JSON.stringify(assets));
    net = createPxeNet(`${SRV}/24`, process.env.PXM_PXE_TEST_NO_BRIDGE === '1');
  }, 3_600_000);

  afterAll(async () => {
    try {
      await guest?.stop();
      await server?.stop();
    } finally {
      if (tcpdump && tcpdump.exitCode === null) tcpdump.kill('SIGTERM');
      net?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Starts pxm server once; without a bridge only after qemu opened the tap. */
  const ensureServer = async (): Promise<PxmProc> => {
    const n = net!;
    if (server) return server;
    if (!n.serverFirst)
      // iPXE's DHCP retries for ~30 s, so starting the server once the tap is up is in time.
      for (let i = 0; i < 100 && !hasCarrier(n.ns, n.tap); i++) await sleep(100);
    server = await startPxm(n.ns, [
      '--data-dir',
      data,
      '--config',
      config,
      '--dhcp',
      'full',
      '--interface',
      n.serveIf,
      '--http-port',
      '5240',
      '--tftp-port',
      '69',
    ]);
    expect(server.log()).toContain(`dhcp: full mode on ${n.serveIf} ${SRV} (10.79.0.0/24)`);
    return server;
  };

  const boot = async (
    interactive: boolean,
    opts: { seconds?: number; memoryMiB?: number } = {},
  ): Promise<{ mac: string; g: Guest }> => {
    const n = net!;
    const mac = `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
    const tag = mac.slice(-2);
    if (n.serverFirst) await ensureServer();
    guest = await startGuest({
      ns: n.ns,
      tap: n.tap,
      mac,
      logFile: path.join(dir, `console-${tag}.log`),
      socket: interactive ? path.join(dir, `serial-${tag}.sock`) : undefined,
      seconds: opts.seconds ?? GUEST_SECONDS,
      memoryMiB: opts.memoryMiB,
    });
    await ensureServer();
    return { mac, g: guest };
  };

  const why = (g: Guest) =>
    `console:\n${g.console().slice(-4000)}\nserver:\n${server?.log().slice(-2000) ?? ''}`;

  /** The kernel started with the enlist command line pxm renders for an unknown MAC. */
  const expectEnlistKernel = (out: string, mac: string, diag: string) => {
    expect(out, diag).toMatch(/Linux version \d+\.\d+/);
    const cmdline = /Command line: (.*)/.exec(out)?.[1] ?? '';
    expect(cmdline, diag).toContain(
      `fetch=${HTTP}/boot/images/amd64/${image.manifest.key}/root.squashfs`,
    );
    const preseed = `${HTTP}/MAAS/metadata/latest/enlist-preseed/?op=get_enlist_preseed`;
    for (const param of [
      `cloud-config-url=${preseed}`,
      'pxm.purpose=enlist',
      `BOOTIF=01-${mac.replace(/:/g, '-')}`,
    ])
      expect(containsWithDrops(cmdline, param, 2), `${param} in\n${cmdline}\n${diag}`).toBe(true);
  };

  /** Stops the server (it holds the lease database locked) and reads mac's lease. */
  const leaseOf = async (mac: string): Promise<string | undefined> => {
    // Forgotten first: a server that fails to stop must not be reused by the next test.
    const stopping = server;
    server = undefined;
    await stopping?.stop();
    // pxm commits a lease before it ACKs, so the ACKed lease is on disk now.
    const db = new Database(path.join(data, 'dhcp-leases.sqlite'), { readonly: true });
    try {
      const row = db.prepare('SELECT ip FROM leases WHERE mac = ?').get(mac) as
        { ip: string } | undefined;
      return row?.ip;
    } finally {
      db.close();
    }
  };

  it('DHCP lease, iPXE script, kernel and initrd from pxm; the enlist kernel starts', async () => {
    const { mac, g } = await boot(false);
    await g.waitFor(/Command line: [^\n]*\n/, GUEST_SECONDS * 1000);
    await g.stop();
    const out = g.console();
    const diag = why(g);

    // DHCP: iPXE configured net0 from pxm's offer, with pxm as next server and the
    // iPXE script as the boot file (user class iPXE: no chainload loop).
    const lease = /net0: (10\.79\.0\.1\d\d)\/255\.255\.255\.0/.exec(out);
    expect(lease, diag).not.toBeNull();
    expect(out, diag).toContain(`Configuring (net0 ${mac})`);
    expect(out, diag).toContain(`Next server: ${SRV}`);
    expect(out, diag).toContain(`Filename: ${HTTP}/boot/ipxe`);
    expect(await leaseOf(mac)).toBe(lease![1]);

    // Boot files, in order: the bootstrap script, the per-MAC script, kernel, initrd.
    const fetched = [
      `${HTTP}/boot/ipxe`,
      `${HTTP}/boot/ipxe/${mac.replace(/:/g, '-')}`,
      `${HTTP}/boot/images/amd64/${image.manifest.key}/vmlinuz`,
      `${HTTP}/boot/images/amd64/${image.manifest.key}/initrd.img`,
    ];
    // iPXE prints "URL... ok", with progress (percentages, cursor moves) in between
    // when a download is slow enough to show it ("initrd.img... 94%     ok").
    expect(out, diag).toMatch(
      new RegExp(fetched.map((u) => `${lit(u)}\\.\\.\\.[^\\n]*?ok`).join('[\\s\\S]*')),
    );
    expectEnlistKernel(out, mac, diag);
  }, 600_000);

  it('pxelinux over TFTP: lpxelinux.0, ldlinux.c32, pxelinux.cfg lookups in order, enlist kernel', async () => {
    const n = net!;
    // TFTP read requests as they cross the serving interface (pxm keeps an unknown
    // machine's requests in memory, but shows them only once it enlists as a node; this
    // guest stops at the kernel banner).
    let rrq = '';
    tcpdump = spawn(
      'ip',
      ['netns', 'exec', n.ns, 'tcpdump', '-l', '-n', '-i', n.serveIf, 'udp dst port 69'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    tcpdump.stdout!.on('data', (d: Buffer) => (rrq += d.toString()));
    let tcpdumpErr = '';
    tcpdump.stderr!.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    for (let i = 0; i < 50 && !/listening on/.test(tcpdumpErr); i++) await sleep(100);

    const { mac, g } = await boot(true);
    // iPXE hands the DHCP answer it got to pxelinux; its boot file is the iPXE script URL,
    // so option 210 (path prefix) points pxelinux at pxm's TFTP root instead.
    expect(await g.waitFor(/Ctrl-B for the iPXE command line/, 120_000), why(g)).toBe(true);
    for (let i = 0; i < 10; i++) await g.key('\u0002');
    const prompts = () => (g.console().match(/iPXE> /g) ?? []).length;
    for (const cmd of ['dhcp', `set 210:string tftp://${SRV}/`]) {
      const before = prompts();
      await g.type(cmd);
      for (let i = 0; i < 400 && prompts() <= before && !g.exited(); i++) await sleep(250);
    }
    await g.type(`chain tftp://${SRV}/lpxelinux.0`);
    // lpxelinux's own HTTP client (lwIP) has failed to load the kernel under emulation
    // on a busy host (once in seven clean-clone runs), then offers "press a key to
    // retry". The test takes that offer once, as an operator would: a load that fails
    // twice still fails the test, and the console in the diagnostics shows the retry.
    const booted = /Command line: [^\n]*\n|Boot failed: press a key to retry/;
    if (await g.waitFor(booted, GUEST_SECONDS * 1000)) {
      if (!/Command line: /.test(g.console())) {
        await g.key('\r');
        await g.waitFor(/Command line: [^\n]*\n/, GUEST_SECONDS * 1000);
      }
    }
    await g.stop();
    tcpdump.kill('SIGTERM');
    const out = g.console();
    const diag = `${why(g)}\ntftp requests:\n${rrq}`;

    const lease = /net0: (10\.79\.0\.1\d\d)\/255\.255\.255\.0/.exec(out);
    // `dhcp` at the prompt prints no address; the lease database has it.
    const ip = await leaseOf(mac);
    expect(ip, diag).toMatch(/^10\.79\.0\.1\d\d$/);
    if (lease) expect(lease[1]).toBe(ip);
    expect(out, diag).toMatch(/PXELINUX 6\.\d+/);

    const names = [...rrq.matchAll(/RRQ "\/?([^"]+)"/g)].map((m) => m[1]!);
    const hex = ip!
      .split('.')
      .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
      .join('');
    const shortened = Array.from({ length: 8 }, (_, i) => hex.slice(0, 8 - i));
    expect(names.slice(0, 2), diag).toEqual(['lpxelinux.0', 'ldlinux.c32']);
    expect(
      names.filter((f) => f.startsWith('pxelinux.cfg/')),
      diag,
    ).toEqual([
      `pxelinux.cfg/01-${mac.replace(/:/g, '-')}`,
      ...shortened.map((h) => `pxelinux.cfg/${h}`),
      'pxelinux.cfg/default',
    ]);
    // lpxelinux fetches kernel and initrd over HTTP, as pxm's default config says.
    const k = `${HTTP}/boot/images/amd64/${image.manifest.key}`;
    expect(out, diag).toMatch(
      new RegExp(
        `Loading ${lit(`${k}/vmlinuz`)}\\.\\.\\. ?ok[\\s\\S]*Loading ${lit(`${k}/initrd.img`)}\\.\\.\\. ?ok`,
      ),
    );
    expectEnlistKernel(out, mac, diag);
  }, 600_000);

  /** The CLI as an operator on the boot network runs it (the server is only reachable there). */
  const cli = (args: string[]) =>
    execa('ip', ['netns', 'exec', net!.ns, process.execPath, bundlePath, ...args], {
      reject: false,
      // Its own client config (pxm login writes it), never the environment's.
      env: { XDG_CONFIG_HOME: path.join(dir, 'client'), PXM_URL: '', PXM_API_KEY: '' },
    });

  interface ApiEvent {
    id: number;
    time: string;
    type: string;
    summary: string;
  }

  it(
    'an unknown machine netboots the ephemeral image, enlists, and `pxm nodes events` shows its boot',
    async () => {
      const { mac, g } = await boot(false, { seconds: ENLIST_SECONDS, memoryMiB: 2048 });
      const key = await pxm(['apikey', '--data-dir', data]);
      expect(key.exitCode, String(key.stderr)).toBe(0);
      const login = await cli(['login', HTTP, String(key.stdout).trim()]);
      expect(login.exitCode, login.stderr).toBe(0);
      expect(login.stderr).toContain(`logged in to ${HTTP}`);

      // cloud-init in the ephemeral image reads the enlist preseed, runs the enlistment
      // user-data, and the machine becomes a node: wait for it as an operator would.
      type Listed = {
        items: Array<{ id: string; status: string; ip: string | null; macs: string[] }>;
      };
      let node: Listed['items'][number] | undefined;
      const end = Date.now() + ENLIST_SECONDS * 1000;
      for (;;) {
        // Read before the query: a guest that powered off after enlisting is still found.
        const over = g.exited() || Date.now() > end;
        const r = await cli(['nodes', 'list', '--mac', mac, '--json']);
        expect(r.exitCode, r.stderr).toBe(0);
        node = (JSON.parse(r.stdout) as Listed).items[0];
        if (node || over) break;
        await sleep(10_000);
      }
      const diag = why(g);
      expect(node, `no node with MAC ${mac}\n${diag}`).toBeDefined();
      await g.stop();
      expectEnlistKernel(g.console(), mac, diag);
      expect(node!.status).toBe('NEW');
      expect(node!.macs).toEqual([mac]);
      const ip = node!.ip!;
      expect(ip, diag).toMatch(/^10\.79\.0\.1\d\d$/);

      const table = await cli(['nodes', 'list', '--mac', mac]);
      expect(table.stdout).toMatch(
        new RegExp(`^${node!.id}\\s.*\\sNEW\\s.*${lit(ip)}\\s+${lit(mac)}$`, 'm'),
      );
      const show = await cli(['nodes', 'show', node!.id]);
      expect(show.exitCode, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/^status\s+NEW$/m);
      expect(show.stdout).toMatch(new RegExp(`^macs\\s+${lit(mac)}$`, 'm'));

      const json = await cli(['nodes', 'events', node!.id, '--json']);
      expect(json.exitCode, json.stderr).toBe(0);
      const events = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ApiEvent);
      const listing = events.map((e) => `#${e.id} ${e.type} ${e.summary}`).join('\n');
      const k = `images/amd64/${image.manifest.key}`;
      const dashes = mac.replace(/:/g, '-');
      const steps: Array<[string, (e: ApiEvent) => boolean]> = [
        [
          'DHCP offer',
          (e) =>
            e.type === 'dhcp' && e.summary === `dhcp: OFFER ${ip}, boot file ${HTTP}/boot/ipxe`,
        ],
        [
          'DHCP ack',
          (e) => e.type === 'dhcp' && e.summary === `dhcp: ACK ${ip}, boot file ${HTTP}/boot/ipxe`,
        ],
        ['iPXE script', (e) => e.summary === `http: ipxe sent to ${ip}`],
        ['per-MAC script', (e) => e.summary === `http: ipxe/${dashes} sent to ${ip}`],
        ['kernel', (e) => e.summary === `http: ${k}/vmlinuz sent to ${ip}`],
        ['initrd', (e) => e.summary === `http: ${k}/initrd.img sent to ${ip}`],
        ['squashfs (live-boot)', (e) => e.summary === `http: ${k}/root.squashfs sent to ${ip}`],
        [
          'created',
          (e) => e.type === 'created' && e.summary === `node created (enlistment from ${ip})`,
        ],
        [
          'enlist',
          (e) => e.type === 'enlist' && e.summary.startsWith(`enlisting: registered from ${ip}`),
        ],
      ];
      const found = steps.map(([name, match]) => [name, events.findIndex(match)] as const);
      // Every step is there, in this order: the boot, then the node's creation, then enlisting.
      expect(
        found.filter(([, i]) => i < 0).map(([name]) => name),
        listing,
      ).toEqual([]);
      expect(
        found.map(([, i]) => i),
        listing,
      ).toEqual(found.map(([, i]) => i).sort((a, b) => a - b));
      const created = events.find((e) => e.type === 'created')!;
      for (const e of events.slice(0, found[7]![1]))
        expect(Date.parse(e.time), listing).toBeLessThanOrEqual(Date.parse(created.time));

      const text = await cli(['nodes', 'events', node!.id]);
      expect(text.exitCode, text.stderr).toBe(0);
      const at = (s: string) => text.stdout.indexOf(s);
      expect(at(`http: ipxe/${dashes} sent to ${ip}`), text.stdout).toBeGreaterThan(-1);
      expect(at(`http: ipxe/${dashes} sent to ${ip}`)).toBeLessThan(at('node created'));
      expect(at('node created')).toBeLessThan(at('enlisting: registered from'));
      expect(text.stdout).toMatch(/^\S+ {2}#\d+ {2}enlist {4}enlisting: registered from/m);
    },
    (ENLIST_SECONDS + 300) * 1000,
  );
});

/**
 * `needle` is in `hay`, except for at most `maxDrops` of its bytes. The guest kernel's
 * 8250 console writes a byte anyway when the emulated UART stays busy too long, and
 * under a loaded host that loses bytes (CI once saw `enlist-preseedop=` for
 * `enlist-preseed/?op=`). The exact rendering is checked byte for byte over TFTP in
 * test/integration/tftp-boot.test.ts and test/unit/boot-render.test.ts.
 */
function containsWithDrops(hay: string, needle: string, maxDrops: number): boolean {
  if (hay.includes(needle)) return true;
  for (let start = 0; start < hay.length; start++) {
    let i = start;
    let drops = 0;
    for (let j = 0; j < needle.length && drops <= maxDrops; j++) {
      if (hay[i] === needle[j]) i++;
      else drops++;
    }
    if (drops <= maxDrops) return true;
  }
  return false;
}
