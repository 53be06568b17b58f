// The boot service attached to the real controller (H6's startServer with SQLite): a node
// created through the controller gets its pxelinux config over TFTP and its iPXE script
// over HTTP as its status changes, and each file served is a node event. A machine that
// is no node yet has its boot requests kept until it enlists; the new node adopts them.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { advertisedBase, attachBoot, type BootService } from '../../src/server/boot/service.js';
import { capable, haveCommand } from '../helpers/capability.js';
import { requestFrom } from '../fixtures/server/harness.js';

const HOST = '127.0.0.1';
let dir: string;
let running: RunningServer;
let boot: BootService;
let tftpPort: number;
let base: string;

async function tftpGet(name: string, from?: string): Promise<{ code: number; text: string }> {
  const dest = path.join(dir, 'dl');
  rmSync(dest, { force: true });
  const src = from ? ['--interface', from] : [];
  const r = await execa('curl', ['-sS', ...src, '-o', dest, `tftp://${HOST}:${tftpPort}/${name}`], {
    reject: false,
  });
  return { code: r.exitCode ?? -1, text: existsSync(dest) ? readFileSync(dest, 'utf8') : '' };
}

describe.runIf(capable(haveCommand('curl'), 'boot service with the controller'))(
  'boot service in pxm server',
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-boot-svc-'));
      const data = path.join(dir, 'data');
      mkdirSync(path.join(data, 'boot', 'images', 'amd64', 'v1'), { recursive: true });
      for (const f of ['vmlinuz', 'initrd.img', 'root.squashfs']) {
        writeFileSync(path.join(data, 'boot', 'images', 'amd64', 'v1', f), `${f} bytes`);
      }
      const rec = (p: string) => ({
        path: p,
        sha256: 'x',
        size: 1,
        source: 'test',
        importedAt: '',
      });
      writeFileSync(
        path.join(data, 'boot-assets.json'),
        JSON.stringify({
          format: 'pxm-boot-assets/1',
          bootloaders: {},
          images: {
            amd64: {
              arch: 'amd64',
              kernel: rec('images/amd64/v1/vmlinuz'),
              initrd: rec('images/amd64/v1/initrd.img'),
              squashfs: rec('images/amd64/v1/root.squashfs'),
              extraParams: 'console=ttyS0',
            },
          },
        }),
      );
      running = await startServer({
        dataDir: data,
        listen: HOST,
        httpPort: 0,
        sweepIntervalMs: 60_000,
      });
      base = `http://${HOST}:${running.port}`;
      boot = await attachBoot(running, {
        dataDir: data,
        listen: HOST,
        httpPort: running.port,
        tftpPort: 0,
        log: () => {},
      });
      tftpPort = boot.tftp!.addresses()[0]!.port;
    });

    afterAll(async () => {
      await boot?.close();
      await running?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('advertises the listen address, or a real one for a wildcard', () => {
      expect(advertisedBase('10.1.2.3', 5240)).toBe('http://10.1.2.3:5240');
      expect(advertisedBase('fd00::1', 80)).toBe('http://[fd00::1]:80');
      expect(advertisedBase('0.0.0.0', 5240)).not.toContain('0.0.0.0');
    });

    it('follows the node through commissioning and records boot events', async () => {
      const node = running.controller.createNode(
        {
          hostname: 'svc-node',
          macs: ['52:54:00:0c:0c:01'],
          architecture: 'amd64/generic',
          ip: HOST,
        },
        'test',
      );
      expect(node.status).toBe('NEW');
      let r = await tftpGet('pxelinux.cfg/01-52-54-00-0c-0c-01');
      expect(r.code).toBe(0);
      expect(r.text).toContain(`KERNEL ${base}/boot/images/amd64/v1/vmlinuz`);
      expect(r.text).toContain(`/MAAS/metadata/latest/by-id/${node.id}/?op=get_preseed`);
      expect(r.text).toContain('console=ttyS0');

      running.controller.act(node.id, 'commission');
      running.controller.systemEvent(node.id, 'commissioning-ok', null);
      r = await tftpGet('pxelinux.cfg/01-52-54-00-0c-0c-01');
      expect(r.text).toContain('COM32 poweroff.c32'); // READY: power off

      expect((await tftpGet('pxelinux.cfg/01-52-54-00-0c-0c-99')).code).toBe(68);

      const ipxe = await fetch(`${base}/boot/ipxe/52-54-00-0c-0c-01`);
      expect(ipxe.status).toBe(200);
      expect(await ipxe.text()).toContain('poweroff');
      const kernel = await fetch(`${base}/boot/images/amd64/v1/vmlinuz`);
      expect(await kernel.text()).toBe('vmlinuz bytes');
      expect((await fetch(`${base}/boot/..%2f..%2fboot-assets.json`)).status).not.toBe(200);

      const events = running.controller.store
        .listEvents(node.id, {})
        .filter((e) => e.type === 'boot');
      expect(events.map((e) => e.summary)).toEqual(
        expect.arrayContaining([
          expect.stringContaining('tftp: pxelinux.cfg/01-52-54-00-0c-0c-01'),
          expect.stringContaining('http: ipxe/52-54-00-0c-0c-01'),
          expect.stringContaining('http: images/amd64/v1/vmlinuz'),
        ]),
      );
    });

    it('keeps the boot of a machine that is no node yet; the node it enlists as adopts it', async () => {
      const mac = '52:54:00:0c:0d:01';
      const from = '127.0.0.3'; // the address pxm's DHCP gave it (svc-node holds 127.0.0.1)
      writeFileSync(path.join(dir, 'data', 'boot', 'lpxelinux.0'), 'loader');
      running.controller.noteUnknownBoot(mac, {
        kind: 'dhcp',
        message: 'ACK',
        ip: from,
        bootFile: 'lpxelinux.0',
      });
      expect((await tftpGet('lpxelinux.0', from)).text).toBe('loader');
      expect((await tftpGet('pxelinux.cfg/01-52-54-00-0c-0d-01', from)).code).toBe(68);
      expect((await tftpGet('pxelinux.cfg/7F000003', from)).code).toBe(68);
      expect((await tftpGet('pxelinux.cfg/default', from)).text).toContain('pxm.purpose=enlist');
      const kernel = await requestFrom(from, `${base}/boot/images/amd64/v1/vmlinuz`);
      expect(kernel.body).toBe('vmlinuz bytes');
      // Another address pxm's DHCP never answered: nothing to attribute it to.
      expect((await tftpGet('lpxelinux.0', '127.0.0.4')).code).toBe(0);

      const res = await requestFrom(from, `${base}/MAAS/api/2.0/machines/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `architecture=amd64%2Fgeneric&mac_addresses=${encodeURIComponent(mac)}`,
      });
      expect(res.status, res.body).toBe(200);
      const id = (JSON.parse(res.body) as { system_id: string }).system_id;
      const events = running.controller.store.listEvents(id, {});
      expect(events.map((e) => e.summary)).toEqual([
        `dhcp: ACK ${from}, boot file lpxelinux.0`,
        `tftp: lpxelinux.0 sent to ${from}`,
        `tftp: pxelinux.cfg/01-52-54-00-0c-0d-01 not sent to ${from}: unknown MAC`,
        `tftp: pxelinux.cfg/7F000003 not sent to ${from}: no such config (pxm answers per MAC)`,
        `tftp: pxelinux.cfg/default sent to ${from}`,
        `http: images/amd64/v1/vmlinuz sent to ${from}`,
        `node created (enlistment from ${from})`,
        `enlisting: registered from ${from} with MAC ${mac}, status NEW`,
      ]);
      // From now on the node is known by its address: files are its events directly.
      await tftpGet('lpxelinux.0', from);
      expect(running.controller.store.listEvents(id, {}).at(-1)?.summary).toBe(
        `tftp: lpxelinux.0 sent to ${from}`,
      );
      expect(running.controller.unknownBoots.has(mac)).toBe(false);
    });
  },
);
