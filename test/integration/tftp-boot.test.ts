// The boot file handler behind the real TFTP server: a known node's pxelinux config
// follows its status, unknown MACs get "file not found" (pxelinux then asks `default`,
// which enlists), and files served to a known node are reported as node events.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../src/server/tftp/server.js';
import { BootFileHandler, type NodeLookup } from '../../src/server/boot/file-handler.js';
import {
  defaultBootSettings,
  type BootNode,
  type BootSettings,
} from '../../src/server/boot/types.js';
import { capable, haveCommand } from '../helpers/capability.js';

const HOST = '127.0.0.1';
const MAC = '52:54:00:aa:bb:01';
let dir: string;
let server: TftpServer;
let port: number;
const node: BootNode = {
  id: 'node-1',
  hostname: 'alpha',
  macs: [MAC],
  status: 'NEW',
  netbootEnabled: true,
  arch: 'amd64/generic',
};
const served: Array<{ nodeId: string; filename: string }> = [];
const lookup: NodeLookup = {
  byMac: (mac) => (node.macs.includes(mac) ? { ...node } : undefined),
  byIp: (ip) => (ip === HOST ? { ...node } : undefined),
};
const settings: BootSettings = {
  ...defaultBootSettings('http://192.0.2.1:5248', '192.0.2.1'),
  images: {
    amd64: {
      kernel: 'images/amd64/vmlinuz',
      initrd: 'images/amd64/initrd.img',
      squashfs: 'images/amd64/root.squashfs',
    },
  },
};

async function fetch(name: string): Promise<{ code: number; text: string }> {
  const dest = path.join(dir, 'out');
  rmSync(dest, { force: true });
  const r = await execa('curl', ['-sS', '-o', dest, `tftp://${HOST}:${port}/${name}`], {
    reject: false,
  });
  return { code: r.exitCode ?? -1, text: existsSync(dest) ? readFileSync(dest, 'utf8') : '' };
}

describe.runIf(capable(haveCommand('curl'), 'boot over TFTP'))('boot configs over TFTP', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-tftp-boot-'));
    mkdirSync(path.join(dir, 'root'));
    writeFileSync(path.join(dir, 'root', 'lpxelinux.0'), 'loader bytes');
    server = new TftpServer(
      new BootFileHandler(
        path.join(dir, 'root'),
        lookup,
        () => settings,
        (nodeId, filename) => served.push({ nodeId, filename }),
      ),
      { listen: [{ address: HOST, port: 0 }] },
    );
    await server.start();
    port = server.addresses()[0]!.port;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("changes a known node's pxelinux config as its status changes", async () => {
    const name = 'pxelinux.cfg/01-52-54-00-aa-bb-01';
    node.status = 'COMMISSIONING';
    let r = await fetch(name);
    expect(r.code).toBe(0);
    expect(r.text).toContain('pxm.purpose=commission');
    expect(r.text).toContain('/MAAS/metadata/latest/by-id/node-1/?op=get_preseed');

    node.status = 'DEPLOYING';
    r = await fetch(name);
    expect(r.text).toContain('pxm.purpose=install');

    node.netbootEnabled = false;
    r = await fetch(name);
    expect(r.text).toContain('LOCALBOOT 0');

    node.status = 'READY';
    r = await fetch(name);
    expect(r.text).toContain('COM32 poweroff.c32');
    expect(served.filter((s) => s.filename === name)).toHaveLength(4);
    expect(served.every((s) => s.nodeId === 'node-1')).toBe(true);
  });

  it('answers unknown MACs, uuid and hex-IP lookups with file not found; default enlists', async () => {
    expect((await fetch('pxelinux.cfg/01-52-54-00-aa-bb-99')).code).toBe(68);
    expect((await fetch('pxelinux.cfg/7F000001')).code).toBe(68);
    expect((await fetch('pxelinux.cfg/7F')).code).toBe(68);
    expect((await fetch('pxelinux.cfg/b8945908-d6a6-41a9-611d-74a6ab80b83d')).code).toBe(68);
    const d = await fetch('pxelinux.cfg/default');
    expect(d.code).toBe(0);
    expect(d.text).toContain('enlist-preseed/?op=get_enlist_preseed');
  });

  it('serves grub bootstrap, per-MAC and per-cpu configs', async () => {
    node.status = 'COMMISSIONING';
    node.netbootEnabled = true;
    expect((await fetch('grub/grub.cfg')).text).toContain(
      'configfile /grub/grub.cfg-${net_default_mac}',
    );
    expect((await fetch(`grub/grub.cfg-${MAC}`)).text).toContain('BOOTIF=01-${net_default_mac}');
    expect((await fetch('grub/grub.cfg-52:54:00:00:00:00')).code).toBe(68);
    expect((await fetch('grub/grub.cfg-default-x86_64')).text).toContain('pxm.purpose=enlist');
    // arm64 has no image registered: not found, with the reason in the server's error
    expect((await fetch('grub/grub.cfg-default-arm64')).code).toBe(68);
  });

  it('serves static loaders from the root and attributes them to the node by IP', async () => {
    const r = await fetch('lpxelinux.0');
    expect(r.text).toBe('loader bytes');
    expect(served).toContainEqual({ nodeId: 'node-1', filename: 'lpxelinux.0' });
  });
});
