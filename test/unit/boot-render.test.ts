import { describe, expect, it } from 'vitest';
import { decideBoot, normaliseMac, baseArch } from '../../src/server/boot/decide.js';
import { parsePxelinuxName, renderPxelinux } from '../../src/server/boot/pxelinux.js';
import { parseGrubName, renderGrub, renderGrubBootstrap } from '../../src/server/boot/grub.js';
import { renderIpxe } from '../../src/server/boot/ipxe.js';
import { bootFileFor } from '../../src/server/boot/firmware.js';
import { MissingImageError } from '../../src/server/boot/cmdline.js';
import {
  defaultBootSettings,
  type BootNode,
  type BootSettings,
} from '../../src/server/boot/types.js';

const settings: BootSettings = {
  ...defaultBootSettings('http://10.0.0.1:5248', '10.0.0.1'),
  images: {
    amd64: {
      kernel: 'images/amd64/vmlinuz',
      initrd: 'images/amd64/initrd.img',
      squashfs: 'images/amd64/root.squashfs',
      extraParams: 'console=ttyS0,115200',
    },
  },
};

const node = (status: string, netbootEnabled = true): BootNode => ({
  id: 'n-abc123',
  hostname: 'rack1-node7',
  macs: ['52:54:00:12:34:56'],
  status,
  netbootEnabled,
  arch: 'amd64/generic',
});

describe('boot decision', () => {
  it('follows the MAAS table', () => {
    expect(decideBoot(undefined)).toBe('enlist');
    for (const s of ['NEW', 'COMMISSIONING', 'RELEASING'])
      expect(decideBoot(node(s))).toBe('commission');
    expect(decideBoot(node('DEPLOYING'))).toBe('install');
    expect(decideBoot(node('DEPLOYING', false))).toBe('local');
    expect(decideBoot(node('DEPLOYED'))).toBe('local');
    for (const s of ['READY', 'FAILED_COMMISSIONING', 'FAILED_DEPLOYMENT', 'BROKEN', 'ALLOCATED']) {
      expect(decideBoot(node(s))).toBe('poweroff');
    }
  });

  it('normalises MACs and architectures', () => {
    expect(normaliseMac('01-52-54-00-AB-CD-EF')).toBe('52:54:00:ab:cd:ef');
    expect(normaliseMac('52:54:00:ab:cd:ef')).toBe('52:54:00:ab:cd:ef');
    expect(normaliseMac('52-54-00-ab-cd')).toBeUndefined();
    expect(baseArch('amd64/generic')).toBe('amd64');
    expect(baseArch('x86_64')).toBe('amd64');
    expect(baseArch('arm64')).toBe('arm64');
  });
});

describe('pxelinux', () => {
  it('classifies the names pxelinux asks for', () => {
    expect(parsePxelinuxName('01-52-54-00-12-34-56')).toEqual({
      kind: 'mac',
      mac: '52:54:00:12:34:56',
    });
    expect(parsePxelinuxName('default')).toEqual({ kind: 'default' });
    expect(parsePxelinuxName('C0A8000A')).toEqual({ kind: 'other' });
    expect(parsePxelinuxName('C0A')).toEqual({ kind: 'other' });
    expect(parsePxelinuxName('b8945908-d6a6-41a9-611d-74a6ab80b83d')).toEqual({ kind: 'other' });
  });

  it('renders an ephemeral boot with BOOTIF, preseed, datasource hint and log host', () => {
    const cfg = renderPxelinux('commission', node('COMMISSIONING'), settings);
    expect(cfg).toContain('KERNEL http://10.0.0.1:5248/boot/images/amd64/vmlinuz');
    expect(cfg).toContain('INITRD http://10.0.0.1:5248/boot/images/amd64/initrd.img');
    expect(cfg).toContain('IPAPPEND 2');
    const append = cfg.split('\n').find((l) => l.includes('APPEND ')) ?? '';
    expect(append).toContain(
      'boot=live fetch=http://10.0.0.1:5248/boot/images/amd64/root.squashfs',
    );
    expect(append).toContain(
      'cloud-config-url=http://10.0.0.1:5248/MAAS/metadata/latest/by-id/n-abc123/?op=get_preseed',
    );
    expect(append).toContain("cc:{'datasource_list': ['MAAS']}end_cc");
    expect(append).toContain('log_host=10.0.0.1 log_port=514');
    expect(append).toContain('hostname=rack1-node7');
    expect(append).toContain('console=ttyS0,115200');
  });

  it('enlists with the anonymous enlistment preseed and TFTP paths when asked', () => {
    const cfg = renderPxelinux('enlist', undefined, { ...settings, pxelinuxFetch: 'tftp' });
    expect(cfg).toContain('KERNEL /images/amd64/vmlinuz');
    expect(cfg).toContain('enlist-preseed/?op=get_enlist_preseed');
  });

  it('boots local and powers off without a kernel', () => {
    expect(renderPxelinux('local', node('DEPLOYED'), settings)).toContain('LOCALBOOT 0');
    const off = renderPxelinux('poweroff', node('READY'), settings);
    expect(off).toContain('COM32 poweroff.c32');
    expect(off).not.toContain('KERNEL');
  });

  it('refuses to render a hostname that would inject parameters', () => {
    const evil = { ...node('NEW'), hostname: 'x init=/bin/sh' };
    expect(renderPxelinux('commission', evil, settings)).not.toContain('init=/bin/sh');
  });

  it('names the missing architecture', () => {
    expect(() =>
      renderPxelinux('commission', { ...node('NEW'), arch: 'arm64/generic' }, settings),
    ).toThrow(MissingImageError);
  });
});

describe('grub', () => {
  it('classifies grub names', () => {
    expect(parseGrubName('grub.cfg')).toEqual({ kind: 'bootstrap' });
    expect(parseGrubName('grub.cfg-52:54:00:12:34:56')).toEqual({
      kind: 'mac',
      mac: '52:54:00:12:34:56',
    });
    expect(parseGrubName('grub.cfg-01-52-54-00-12-34-56')).toEqual({
      kind: 'mac',
      mac: '52:54:00:12:34:56',
    });
    expect(parseGrubName('grub.cfg-default-x86_64')).toEqual({ kind: 'default', cpu: 'x86_64' });
    expect(parseGrubName('x86_64-efi/normal.mod')).toEqual({ kind: 'other' });
  });

  it('bootstraps per-MAC then per-cpu configs', () => {
    const b = renderGrubBootstrap();
    expect(b.indexOf('grub.cfg-${net_default_mac}')).toBeLessThan(
      b.indexOf('grub.cfg-default-${grub_cpu}'),
    );
  });

  it('adds BOOTIF from net_default_mac and uses TFTP or http paths', () => {
    const g = renderGrub('install', node('DEPLOYING'), settings);
    expect(g).toMatch(
      /linux \/images\/amd64\/vmlinuz .*boot=live .* BOOTIF=01-\$\{net_default_mac\}/,
    );
    expect(g).toContain('initrd /images/amd64/initrd.img');
    expect(g).toContain('pxm.purpose=install');
    const h = renderGrub('install', node('DEPLOYING'), { ...settings, grubHttp: true });
    expect(h).toContain('linux (http,10.0.0.1:5248)/boot/images/amd64/vmlinuz');
    expect(renderGrub('local', node('DEPLOYED'), settings)).toContain(
      'chainloader /efi/debian/shimx64.efi',
    );
    expect(renderGrub('poweroff', node('BROKEN'), settings)).toContain('halt');
  });
});

describe('iPXE and firmware selection', () => {
  it('renders an iPXE script over HTTP', () => {
    const s = renderIpxe('commission', node('NEW'), settings);
    expect(s.startsWith('#!ipxe\n')).toBe(true);
    expect(s).toContain('kernel http://10.0.0.1:5248/boot/images/amd64/vmlinuz initrd=initrd.img ');
    expect(s).toContain('BOOTIF=01-${netX/mac:hexhyp}');
    expect(s).toContain(
      'initrd --name initrd.img http://10.0.0.1:5248/boot/images/amd64/initrd.img',
    );
    expect(renderIpxe('local', node('DEPLOYED'), settings)).toContain('exit');
  });

  it('picks the loader from option 93 and breaks the iPXE loop', () => {
    expect(bootFileFor(0, undefined, settings)).toEqual({ via: 'tftp', file: 'lpxelinux.0' });
    expect(bootFileFor(7, undefined, settings)).toEqual({ via: 'tftp', file: 'bootx64.efi' });
    expect(bootFileFor(11, undefined, settings)).toEqual({ via: 'tftp', file: 'bootaa64.efi' });
    expect(bootFileFor(16, undefined, settings)).toEqual({
      via: 'http',
      url: 'http://10.0.0.1:5248/boot/ipxe.efi',
      vendorClass: 'HTTPClient',
    });
    expect(bootFileFor(7, 'iPXE', settings)).toMatchObject({
      via: 'http',
      url: 'http://10.0.0.1:5248/boot/ipxe',
    });
    expect(bootFileFor(42, undefined, settings).via).toBe('none');
  });
});
