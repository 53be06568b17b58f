// The curthooks modules against constructed target trees: what lands in the target for a
// given config, in which order, with which events; bad keys refused naming the key path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HOOK_ORDER, runCurthooks, validateCurthooks } from '../../src/hooks/index.js';
import { renderHosts } from '../../src/hooks/hostname.js';
import { planApt } from '../../src/hooks/apt.js';
import { planSwap, autoSwapBytes } from '../../src/hooks/swap.js';
import { planCloudConfig } from '../../src/hooks/cloud-config.js';
import { diversionOf, withInitramfsDeferred } from '../../src/hooks/initramfs-defer.js';
import { planInitramfs } from '../../src/hooks/initramfs.js';
import { ENI_D_PATH } from '../../src/net/index.js';
import { Reporter, type ReportEvent } from '../../src/report/events.js';
import { Runner } from '../../src/runner/runner.js';
import { workingPaths, type StageContext } from '../../src/stages/context.js';
import { ValidationError } from '../../src/util/errors.js';

let top: string;
beforeAll(async () => {
  top = await mkdtemp(path.join(tmpdir(), 'pxm-hooks-'));
});
afterAll(async () => {
  await rm(top, { recursive: true, force: true });
});

const NET = `network:
  version: 1
  config:
    - type: physical
      name: eth0
      mac_address: "52:54:00:12:34:56"
      subnets:
        - type: static
          address: 10.0.2.15/24
          gateway: 10.0.2.2
`;

async function makeTarget(name: string, extra: Record<string, string> = {}): Promise<string> {
  const root = path.join(top, name, 'target');
  const files: Record<string, string> = {
    '/etc/os-release': 'ID=debian\nVERSION_CODENAME=bookworm\n',
    '/etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\told-name\n::1\tlocalhost ip6-localhost\n',
    '/etc/fstab': '# image fstab\n',
    '/usr/sbin/ifup': '',
    '/boot/vmlinuz-6.1.0-test': '',
    ...extra,
  };
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}

async function context(
  name: string,
  root: string,
  config: Record<string, unknown>,
  opts: { dryRun?: boolean; fstab?: string; net?: string } = {},
): Promise<{ ctx: StageContext; events: ReportEvent[]; runner: Runner }> {
  const paths = workingPaths(path.join(top, name, 'work'));
  await mkdir(path.dirname(paths.fstab), { recursive: true });
  if (opts.fstab) await writeFile(paths.fstab, opts.fstab);
  if (opts.net) await writeFile(paths.networkConfig, opts.net);
  const events: ReportEvent[] = [];
  const reporter = new Reporter([{ publish: (e) => void events.push(e) }]);
  const runner = new Runner({ dryRun: opts.dryRun });
  const ctx: StageContext = {
    config,
    target: root,
    targetIsDirectory: true,
    paths,
    env: {},
    runner,
    stack: reporter.stack('cmd-install/stage-curthooks/builtin', 'curthooks'),
    log: () => undefined,
    onFinish: () => undefined,
  };
  return { ctx, events, runner };
}

const read = (root: string, rel: string) => readFile(path.join(root, rel), 'utf8');

describe('runCurthooks on a directory target', () => {
  it('writes fstab, identity, ENI network, MAC pinning, apt, swap and cloud-init config, each module under its own event', async () => {
    const root = await makeTarget('full');
    const fstab =
      '# / was on /dev/loop9p2 during curtin installation\nUUID=1234 / ext4 defaults 0 1\n';
    const { ctx, events } = await context(
      'full',
      root,
      {
        hostname: 'node7',
        fqdn: 'node7.lab.example',
        apt: {
          http_proxy: 'http://proxy:3128',
          primary: [{ arches: ['default'], uri: 'http://mirror.example/debian' }],
          sources_list: 'deb $MIRROR $RELEASE main\n',
          sources: { extra: { source: 'deb http://extra.example/ $RELEASE main' } },
          preferences: [{ package: '*', pin: 'release a=stable', 'pin-priority': 600 }],
        },
        swap: { filename: '/swapfile', size: '64M' },
        cloudconfig: { 'maas-datasource': { content: 'datasource_list: [MAAS]\n' } },
      },
      { fstab, net: NET },
    );
    await runCurthooks(ctx);

    expect(await read(root, '/etc/fstab')).toBe(`${fstab}/swapfile none swap sw 0 0\n`);
    expect(await read(root, '/etc/hostname')).toBe('node7\n');
    expect(await read(root, '/etc/hosts')).toBe(
      '127.0.0.1\tlocalhost\n127.0.1.1\tnode7.lab.example node7\n::1\tlocalhost ip6-localhost\n',
    );
    expect(await read(root, '/etc/network/interfaces')).toMatch(
      /source \/etc\/network\/interfaces\.d/,
    );
    const eni = await read(root, ENI_D_PATH);
    expect(eni).toMatch(/iface eth0 inet static/);
    expect(eni).toMatch(/address 10\.0\.2\.15/);
    const udev = await read(root, '/etc/udev/rules.d/70-persistent-net.rules');
    expect(udev).toMatch(/52:54:00:12:34:56.*NAME="eth0"/);
    expect(await read(root, '/etc/apt/apt.conf.d/90curtin-aptproxy')).toBe(
      'Acquire::http::Proxy "http://proxy:3128";\n',
    );
    expect(await read(root, '/etc/apt/sources.list')).toBe(
      'deb http://mirror.example/debian bookworm main\n',
    );
    expect(await read(root, '/etc/apt/sources.list.d/extra.list')).toBe(
      'deb http://extra.example/ bookworm main\n',
    );
    expect(await read(root, '/etc/apt/preferences.d/90-curtin.pref')).toContain(
      'Pin-Priority: 600',
    );
    const swap = await stat(path.join(root, 'swapfile'));
    expect(swap.size).toBe(64 * 1024 * 1024);
    expect(swap.mode & 0o777).toBe(0o600);
    const sig = (await readFile(path.join(root, 'swapfile'))).subarray(4086, 4096).toString();
    expect(sig).toBe('SWAPSPACE2');
    const ds = path.join(root, 'etc/cloud/cloud.cfg.d/maas-datasource.cfg');
    expect(await readFile(ds, 'utf8')).toBe('datasource_list: [MAAS]\n');
    expect((await stat(ds)).mode & 0o777).toBe(0o600);

    const finished = events.filter((e) => e.event_type === 'finish').map((e) => [e.name, e.result]);
    expect(finished).toEqual(
      HOOK_ORDER.map((h) => [`cmd-install/stage-curthooks/builtin/${h.name}`, 'SUCCESS']),
    );
    expect(HOOK_ORDER.map((h) => h.name)).toEqual([
      'fstab',
      'hostname',
      'network',
      'pinning',
      'apt',
      'swap',
      'kernel',
      'bootloader-packages',
      'cloud-config',
      'initramfs',
      'bootloader',
    ]);
  });

  it('renders netplan (no udev rules) when the target has netplan, with the cloud-init pass-through', async () => {
    const root = await makeTarget('netplan', {
      '/usr/sbin/netplan': '',
      '/etc/cloud/cloud.cfg': '',
    });
    const { ctx } = await context('netplan', root, {}, { net: NET });
    await runCurthooks(ctx);
    const np = await read(root, '/etc/netplan/50-cloud-init.yaml');
    expect(np).toMatch(/10\.0\.2\.15\/24/);
    expect(existsSync(path.join(root, 'etc/udev/rules.d/70-persistent-net.rules'))).toBe(false);
    expect(await read(root, '/etc/cloud/cloud.cfg.d/50-curtin-networking.cfg')).toMatch(
      /mac_address/,
    );
    // No hostname: key: the image's identity is left alone.
    expect(existsSync(path.join(root, 'etc/hostname'))).toBe(false);
  });

  it('dry-run records the writes and changes nothing', async () => {
    const root = await makeTarget('dry');
    const { ctx, runner } = await context(
      'dry',
      root,
      { hostname: 'dry1', swap: { size: '1M' } },
      { dryRun: true, fstab: 'x\n' },
    );
    await runCurthooks(ctx);
    expect(await read(root, '/etc/fstab')).toBe('# image fstab\n');
    expect(existsSync(path.join(root, 'etc/hostname'))).toBe(false);
    const writes = runner.plan
      .filter((s) => s.kind === 'write')
      .map((s) => (s.kind === 'write' ? s.path : ''));
    expect(writes).toContain(path.join(root, '/etc/hostname'));
    expect(runner.plan.some((s) => s.kind === 'exec' && s.argv[0] === 'mkswap')).toBe(true);
  });

  it('package installs run with update-initramfs diverted; one initramfs build afterwards', async () => {
    const root = await makeTarget('defer', {
      '/usr/bin/dpkg-divert': '',
      '/usr/sbin/update-initramfs': '',
      '/usr/sbin/grub-install': '',
      '/boot/initrd.img-6.1.0-test': '',
      '/var/lib/dpkg/diversions': '/usr/bin/x\n/usr/bin/x.orig\nsomepkg\n',
    });
    const { ctx, runner } = await context(
      'defer',
      root,
      {
        kernel: { package: 'linux-image-amd64' },
        grub: { firmware: 'both', install_devices: ['/dev/vdz'] },
      },
      { dryRun: true },
    );
    await runCurthooks(ctx);
    const inTarget = runner.plan.flatMap((s) =>
      s.kind === 'exec' && s.argv[0] === 'chroot' ? [s.argv.slice(2).join(' ')] : [],
    );
    const divert = 'dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.pxm-real';
    expect(inTarget).toEqual([
      `${divert} --add /usr/sbin/update-initramfs`,
      'apt-get install -y --no-install-recommends linux-image-amd64',
      `${divert} --remove /usr/sbin/update-initramfs`,
      `${divert} --add /usr/sbin/update-initramfs`,
      'apt-get install -y --no-install-recommends grub-pc-bin grub-efi-amd64-bin',
      `${divert} --remove /usr/sbin/update-initramfs`,
      'update-initramfs -u -k all',
      'grub-install --target=i386-pc --recheck /dev/vdz',
      'grub-install --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=debian --no-nvram',
      'grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram',
      'update-grub',
    ]);
  });

  it('the diversion is undone when the package install fails', async () => {
    const root = await makeTarget('defer-fail', { '/usr/bin/dpkg-divert': '' });
    const { ctx, runner } = await context('defer-fail', root, {}, { dryRun: true });
    await expect(
      withInitramfsDeferred(ctx, () => Promise.reject(new Error('apt-get failed'))),
    ).rejects.toThrow('apt-get failed');
    const steps = runner.plan.map((s) =>
      s.kind === 'exec' ? s.argv.join(' ') : (s.description ?? ''),
    );
    const removed = steps.findIndex((s) => /dpkg-divert .*--remove/.test(s));
    expect(steps.findIndex((s) => /dpkg-divert .*--add/.test(s))).toBeGreaterThanOrEqual(0);
    expect(removed).toBeGreaterThan(steps.indexOf('remove the update-initramfs stub'));
  });

  it("an image's own diversion of update-initramfs is left alone", () => {
    const db = '/usr/sbin/update-initramfs\n/usr/sbin/update-initramfs.distrib\nLOCAL\n';
    expect(diversionOf(db, '/usr/sbin/update-initramfs')).toBe('LOCAL');
    expect(diversionOf(db, '/usr/bin/other')).toBeUndefined();
  });

  it('one update-initramfs per kernel state: -u -k all, or -c for a kernel without one', () => {
    expect(planInitramfs(['vmlinuz-6.1.0-9', 'initrd.img-6.1.0-9', 'config-6.1.0-9'])).toEqual([
      ['update-initramfs', '-u', '-k', 'all'],
    ]);
    expect(planInitramfs(['vmlinuz-6.1.0-9', 'vmlinuz-6.1.0-10', 'initrd.img-6.1.0-9'])).toEqual([
      ['update-initramfs', '-c', '-k', '6.1.0-10'],
      ['update-initramfs', '-u', '-k', '6.1.0-9'],
    ]);
  });

  it("an image's executable pxm/hooks replaces the built-in modules", async () => {
    const root = await makeTarget('own', { '/pxm/hooks': '#!/bin/sh\necho ran > "$0.out"\n' });
    await (await import('node:fs/promises')).chmod(path.join(root, 'pxm/hooks'), 0o755);
    const { ctx } = await context('own', root, { hostname: 'ignored' }, { fstab: 'y\n' });
    await runCurthooks(ctx);
    expect(await read(root, '/pxm/hooks.out')).toBe('ran\n');
    expect(existsSync(path.join(root, 'etc/hostname'))).toBe(false);
  });
});

describe('pure module plans', () => {
  it('renderHosts adds a 127.0.1.1 line when there is none', () => {
    expect(renderHosts('127.0.0.1 localhost\n', { short: 'a', fqdn: 'a' })).toBe(
      '127.0.0.1 localhost\n127.0.1.1\ta\n',
    );
  });
  it('swap sizes: 0 disables, auto follows RAM within bounds, maxsize caps', () => {
    expect(planSwap({ size: 0 })).toBeUndefined();
    expect(planSwap(undefined)).toBeUndefined();
    expect(autoSwapBytes(4 * 1024 ** 3)).toBe(4 * 1024 ** 3);
    expect(autoSwapBytes(64 * 1024 ** 3)).toBe(8 * 1024 ** 3);
    expect(planSwap({ size: '4G', maxsize: '1G' })?.bytes).toBe(1024 ** 3);
  });
  it('cloudconfig paths cannot leave cloud.cfg.d', () => {
    expect(planCloudConfig([{ content: 'a: 1\n' }])[0]?.path).toBe(
      '/etc/cloud/cloud.cfg.d/00_pxm.cfg',
    );
    expect(() => planCloudConfig({ x: { content: '', path: '../../passwd' } })).toThrow(
      /cloudconfig\/x\/path/,
    );
  });
  it('apt preferences need an integer priority', () => {
    expect(
      planApt({ preferences: [{ package: 'a', pin: 'b', 'pin-priority': 600 }] }, 'x'),
    ).toHaveLength(1);
  });
});

describe('validation names the key path', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ hostname: 'bad_name!' }, /^hostname: /],
    [
      { apt: { preferences: [{ package: 'a', pin: 'b', 'pin-priority': 'high' }] } },
      /apt\/preferences\[0\]\/pin-priority/,
    ],
    [{ apt: { sources: { '../evil': { source: 'deb x y' } } } }, /apt\/sources\/\.\.\/evil/],
    [{ swap: { size: 'lots' } }, /swap\/size/],
    [{ kernel: { package: 'linux; rm -rf /' } }, /kernel\/package/],
    [{ grub: { install_devices: ['sda'] } }, /grub\/install_devices/],
    [{ grub: { firmware: 'coreboot' } }, /grub\/firmware/],
    [
      {
        grub: { firmware: 'both' },
        storage: {
          version: 1,
          config: [
            { id: 'd', type: 'disk', path: '/dev/vda', ptable: 'gpt', grub_device: true },
            { id: 'p', type: 'partition', device: 'd', size: '2G' },
          ],
        },
      },
      /^storage\/config\[0\]: .*bios_grub/,
    ],
  ];
  for (const [config, where] of cases) {
    it(`${JSON.stringify(config)}`, () => {
      let caught: unknown;
      try {
        validateCurthooks(config);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect(String((caught as Error).message)).toMatch(where);
    });
  }
});
