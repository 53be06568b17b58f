// A real network boot from `pxm server` end to end: qemu (software emulation, SeaBIOS and
// Debian's iPXE option ROM for virtio-net) on a tap device in a private namespace, pxm
// serving DHCP (full mode) and boot files from a fresh data dir holding Debian's loaders
// and the test ephemeral image. The guest's firmware is iPXE (user class "iPXE"), so pxm
// answers with the iPXE script URL (docs/dhcp.md, "Boot information"); the script for an
// unknown MAC is the enlist boot. The test stops the guest as soon as the kernel prints
// its banner: the squashfs and cloud-init are covered by the images tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveFile } from '../helpers/capability.js';
import { createPxeNet, hasCarrier, readIfAny, type PxeNet } from '../helpers/pxe-net.js';
import { pxm } from '../helpers/pxm.js';
import { ensureTestImage, vmCapability, type TestImage } from '../helpers/vm-image.js';
import { startPxm, type PxmProc } from '../integration/dhcp-harness.js';

const ok = capable(
  all(
    vmCapability(),
    haveCommand('ip'),
    haveCommand('timeout'),
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Escape for a literal inside a RegExp. */
const lit = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe.skipIf(!ok)('PXE boot of a qemu guest from pxm server', () => {
  let image: TestImage;
  let dir: string;
  let net: PxeNet | undefined;
  let server: PxmProc | undefined;
  let qemu: ChildProcess | undefined;
  let qemuExited: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-pxe-'));
  }, 3_600_000);

  const stopQemu = async () => {
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGTERM');
    await qemuExited;
  };

  afterAll(async () => {
    await stopQemu();
    await server?.stop();
    net?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('DHCP lease, iPXE script, kernel and initrd from pxm; the enlist kernel starts', async () => {
    const data = path.join(dir, 'data');
    const config = path.join(dir, 'server.yaml');
    writeFileSync(
      config,
      `dhcp:\n  subnet: 10.79.0.0/24\n  range: [10.79.0.100, 10.79.0.199]\n  lease_time: 600\n`,
    );
    const deb = await pxm(['images', 'import', '--data-dir', data, '--debian']);
    expect(deb.exitCode, String(deb.stderr)).toBe(0);
    expect(String(deb.stdout)).toMatch(/imported lpxelinux\.0/);
    const eph = await pxm(['images', 'import', '--data-dir', data, '--ephemeral', image.dir]);
    expect(eph.exitCode, String(eph.stderr)).toBe(0);

    net = createPxeNet(`${SRV}/24`, process.env.PXM_PXE_TEST_NO_BRIDGE === '1');
    const mac = `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
    const consoleLog = path.join(dir, 'console.log');
    const serverArgs = [
      '--data-dir',
      data,
      '--config',
      config,
      '--dhcp',
      'full',
      '--interface',
      net.serveIf,
      '--http-port',
      '5240',
      '--tftp-port',
      '69',
    ];
    const startQemu = () => {
      qemu = spawn(
        'ip',
        // ip netns exec execs `timeout`, which passes our SIGTERM on to qemu.
        [
          'netns',
          'exec',
          net!.ns,
          'timeout',
          String(GUEST_SECONDS),
          'qemu-system-x86_64',
          '-accel',
          'tcg',
          '-smp',
          '1',
          '-m',
          '1024',
          '-machine',
          'pc,graphics=off',
          '-display',
          'none',
          '-serial',
          `file:${consoleLog}`,
          '-netdev',
          `tap,id=n0,ifname=${net!.tap},script=no,downscript=no`,
          '-device',
          `virtio-net-pci,netdev=n0,mac=${mac}`,
          '-boot',
          'n',
          '-no-reboot',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const q = qemu;
      qemuExited = new Promise((r) => q.once('exit', () => r()));
    };

    if (net.serverFirst) {
      server = await startPxm(net.ns, serverArgs);
      startQemu();
    } else {
      // No bridge: the tap carries the address and is down until qemu opens it. iPXE's
      // DHCP retries for ~30 s, so starting the server right after is in time.
      startQemu();
      for (let i = 0; i < 100 && !hasCarrier(net.ns, net.tap); i++) await sleep(100);
      server = await startPxm(net.ns, serverArgs);
    }
    expect(server.log()).toContain(`dhcp: full mode on ${net.serveIf} ${SRV} (10.79.0.0/24)`);

    // Wait for the kernel banner (or the guest giving up), then stop the guest at once.
    let exited = false;
    void qemuExited.then(() => (exited = true));
    const deadline = Date.now() + GUEST_SECONDS * 1000;
    while (!exited && Date.now() < deadline && !/Linux version/.test(readIfAny(consoleLog)))
      await sleep(500);
    await stopQemu();
    await server.stop();
    const out = readIfAny(consoleLog);
    const why = `console:\n${out.slice(-4000)}\nserver:\n${server.log().slice(-2000)}`;

    // DHCP: iPXE configured net0 from pxm's offer, with pxm as next server and the
    // iPXE script as the boot file (user class iPXE: no chainload loop).
    const lease = new RegExp(`net0: (10\\.79\\.0\\.1\\d\\d)/255\\.255\\.255\\.0`).exec(out);
    expect(lease, why).not.toBeNull();
    expect(out, why).toContain(`Configuring (net0 ${mac})`);
    expect(out, why).toContain(`Next server: ${SRV}`);
    expect(out, why).toContain(`Filename: ${HTTP}/boot/ipxe`);

    // pxm recorded that lease on disk before acknowledging it.
    const db = new Database(path.join(data, 'dhcp-leases.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT mac, ip FROM leases').all() as { mac: string; ip: string }[];
      expect(rows).toEqual([{ mac, ip: lease![1] }]);
    } finally {
      db.close();
    }

    // Boot files, in order: the bootstrap script, the per-MAC script, kernel, initrd.
    const hyp = mac.replace(/:/g, '-');
    const fetched = [
      `${HTTP}/boot/ipxe`,
      `${HTTP}/boot/ipxe/${hyp}`,
      `${HTTP}/boot/images/amd64/${image.manifest.key}/vmlinuz`,
      `${HTTP}/boot/images/amd64/${image.manifest.key}/initrd.img`,
    ];
    const order = new RegExp(fetched.map((u) => `${lit(u)}\\.\\.\\. ok`).join('[\\s\\S]*'));
    expect(out, why).toMatch(order);

    // The kernel started, with the enlist command line pxm renders for an unknown MAC.
    expect(out, why).toMatch(/Linux version \d+\.\d+/);
    const cmdline = /Command line: (.*)/.exec(out)?.[1] ?? '';
    expect(cmdline, why).toContain(
      `fetch=${HTTP}/boot/images/amd64/${image.manifest.key}/root.squashfs`,
    );
    expect(cmdline).toContain(
      `cloud-config-url=${HTTP}/MAAS/metadata/latest/enlist-preseed/?op=get_enlist_preseed`,
    );
    expect(cmdline).toContain('pxm.purpose=enlist');
    expect(cmdline).toContain(`BOOTIF=01-${hyp}`);
  }, 600_000);
});
