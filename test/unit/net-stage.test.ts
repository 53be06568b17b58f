// The network stage and target planning, against constructed directory trees: a sysfs
// look-alike with "physical" NICs (a `device` link with a driver, which a network
// namespace cannot provide) and target roots with or without netplan/ifupdown/cloud-init.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { discoverNics, nicKind } from '../../src/net/discover.js';
import { parseNetworkConfig } from '../../src/net/config.js';
import { NetworkConfigError } from '../../src/net/problems.js';
import { runNetworkStage } from '../../src/net/stage.js';
import { parseNetMetaArgs } from '../../src/net/module.js';
import { loadNetworkConfigFile, writeRenderedFiles } from '../../src/net/apply.js';
import {
  CLOUD_INIT_NET_CFG,
  chooseRenderer,
  existsInTarget,
  planTargetNetwork,
  renderWith,
} from '../../src/net/target.js';
import { Reporter, type ReportEvent } from '../../src/report/events.js';
import { Runner } from '../../src/runner/runner.js';
import { ValidationError } from '../../src/util/errors.js';
import { OWN_FIXTURES, SHARED_EXAMPLES, loadYaml } from './net-helpers.js';

let top: string;
beforeAll(async () => {
  top = await mkdtemp(path.join(tmpdir(), 'pxm-net-stage-'));
});
afterAll(async () => {
  await rm(top, { recursive: true, force: true });
});

interface FakeNic {
  name: string;
  mac?: string;
  carrier?: '0' | '1' | null; // null: reading fails (interface down)
  driver?: string; // gives it a device link: physical
  type?: string;
  extra?: 'bridge' | 'bonding' | 'vlan' | 'tun_flags';
}

async function fakeSysfs(nics: FakeNic[]): Promise<string> {
  const root = await mkdtemp(path.join(top, 'sys-'));
  const net = path.join(root, 'class/net');
  for (const n of nics) {
    const dir = path.join(net, n.name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'address'), `${n.mac ?? '00:00:00:00:00:00'}\n`);
    await writeFile(path.join(dir, 'type'), `${n.type ?? '1'}\n`);
    await writeFile(path.join(dir, 'operstate'), n.carrier === '1' ? 'up\n' : 'down\n');
    if (n.carrier !== null) await writeFile(path.join(dir, 'carrier'), `${n.carrier ?? '0'}\n`);
    await writeFile(
      path.join(dir, 'uevent'),
      `INTERFACE=${n.name}\n${n.extra === 'vlan' ? 'DEVTYPE=vlan\n' : ''}`,
    );
    if (n.extra === 'bridge' || n.extra === 'bonding') await mkdir(path.join(dir, n.extra));
    if (n.extra === 'tun_flags') await writeFile(path.join(dir, 'tun_flags'), '0x1002\n');
    if (n.driver) {
      const dev = path.join(root, 'devices/pci0000:00', n.name);
      const drv = path.join(root, 'bus/pci/drivers', n.driver);
      await mkdir(dev, { recursive: true });
      await mkdir(drv, { recursive: true });
      await symlink(drv, path.join(dev, 'driver'));
      await symlink(dev, path.join(dir, 'device'));
    }
  }
  return net;
}

const MACHINE: FakeNic[] = [
  { name: 'lo', type: '772', carrier: '1' },
  { name: 'enp1s0', mac: '52:54:00:AA:00:01', carrier: '1', driver: 'virtio_net' },
  { name: 'enp2s0', mac: '52:54:00:aa:00:02', carrier: '0', driver: 'e1000e' },
  { name: 'enp3s0', mac: '52:54:00:aa:00:03', carrier: null, driver: 'igb' },
  { name: 'eno1', mac: '52:54:00:aa:00:04', carrier: '1', driver: 'ixgbe' },
  { name: 'br0', mac: '52:54:00:aa:00:05', carrier: '1', extra: 'bridge' },
  { name: 'bond0', mac: '52:54:00:aa:00:06', carrier: '1', extra: 'bonding' },
  { name: 'eno1.10', mac: '52:54:00:aa:00:04', carrier: '1', extra: 'vlan' },
  { name: 'veth0', mac: '52:54:00:aa:00:07', carrier: '1' },
  { name: 'tap0', mac: '52:54:00:aa:00:08', carrier: '1', extra: 'tun_flags' },
];

describe('NIC discovery (constructed sysfs)', () => {
  it('returns physical NICs only, with MAC, carrier, operstate and driver', async () => {
    const sys = await fakeSysfs(MACHINE);
    expect(await discoverNics({ sysfsRoot: sys })).toEqual([
      {
        name: 'eno1',
        mac: '52:54:00:aa:00:04',
        carrier: true,
        operstate: 'up',
        driver: 'ixgbe',
        kind: 'physical',
      },
      {
        name: 'enp1s0',
        mac: '52:54:00:aa:00:01',
        carrier: true,
        operstate: 'up',
        driver: 'virtio_net',
        kind: 'physical',
      },
      {
        name: 'enp2s0',
        mac: '52:54:00:aa:00:02',
        carrier: false,
        operstate: 'down',
        driver: 'e1000e',
        kind: 'physical',
      },
      {
        name: 'enp3s0',
        mac: '52:54:00:aa:00:03',
        carrier: false,
        operstate: 'down',
        driver: 'igb',
        kind: 'physical',
      },
    ]);
  });

  it('includeVirtual adds veth/tap but never loopback, bridges, bonds or VLANs', async () => {
    const sys = await fakeSysfs(MACHINE);
    const names = (await discoverNics({ sysfsRoot: sys, includeVirtual: true })).map(
      (n) => `${n.name}:${n.kind}`,
    );
    expect(names).toEqual([
      'eno1:physical',
      'enp1s0:physical',
      'enp2s0:physical',
      'enp3s0:physical',
      'tap0:tun',
      'veth0:virtual',
    ]);
    expect(await nicKind(path.join(sys, 'br0'), 'br0')).toBe('bridge');
    expect(await nicKind(path.join(sys, 'eno1.10'), 'eno1.10')).toBe('vlan');
  });
});

describe('runNetworkStage', () => {
  const out = () => path.join(top, `out-${Math.random().toString(36).slice(2)}`, 'network_config');

  it('without network: writes DHCP for the NICs with carrier, names pinned by MAC', async () => {
    const sys = await fakeSysfs(MACHINE);
    const events: ReportEvent[] = [];
    const stack = new Reporter([{ publish: (e) => void events.push(e) }]).stack(
      'cmd-install/stage-network',
      'network',
    );
    const file = out();
    const res = await runNetworkStage({
      runner: new Runner(),
      stack,
      config: {},
      outputNetworkConfig: file,
      sysfsRoot: sys,
    });
    expect(res.mode).toBe('dhcp');
    expect(parse(await readFile(file, 'utf8'))).toEqual({
      network: {
        version: 1,
        config: [
          {
            type: 'physical',
            name: 'eno1',
            mac_address: '52:54:00:aa:00:04',
            subnets: [{ type: 'dhcp' }],
          },
          {
            type: 'physical',
            name: 'enp1s0',
            mac_address: '52:54:00:aa:00:01',
            subnets: [{ type: 'dhcp' }],
          },
        ],
      },
    });
    expect(events.map((e) => `${e.event_type} ${e.name}`)).toEqual([
      'start cmd-install/stage-network/discover-nics',
      'finish cmd-install/stage-network/discover-nics',
    ]);
  });

  it('no NIC with carrier: falls back to the first NIC by name, with a warning', async () => {
    const sys = await fakeSysfs(
      MACHINE.map((n) => ({ ...n, carrier: n.carrier === '1' ? '0' : n.carrier })),
    );
    const file = out();
    const res = await runNetworkStage({
      runner: new Runner(),
      config: {},
      outputNetworkConfig: file,
      sysfsRoot: sys,
    });
    expect(res.warnings[0]).toContain('no NIC has carrier');
    const doc = parse(await readFile(file, 'utf8')) as { network: { config: { name: string }[] } };
    expect(doc.network.config.map((c) => c.name)).toEqual(['eno1']);
  });

  it('dhcp with devices: exactly those, and an unknown device is an error before any write', async () => {
    const sys = await fakeSysfs(MACHINE);
    const file = out();
    const res = await runNetworkStage({
      runner: new Runner(),
      config: {},
      outputNetworkConfig: file,
      sysfsRoot: sys,
      mode: 'dhcp',
      devices: ['enp2s0'],
    });
    expect(res.doc.kind === 'v1' && res.doc.state.interfaces.map((i) => i.name)).toEqual([
      'enp2s0',
    ]);
    const bad = out();
    await expect(
      runNetworkStage({
        runner: new Runner(),
        config: {},
        outputNetworkConfig: bad,
        sysfsRoot: sys,
        mode: 'dhcp',
        devices: ['eth9'],
      }),
    ).rejects.toThrow(ValidationError);
    expect(existsSync(bad)).toBe(false);
  });

  it('with network: writes it in curtin format; v2 unchanged', async () => {
    for (const example of ['network-all.yaml', 'tests_network_v2_passthrough.yaml']) {
      const config = loadYaml(path.join(SHARED_EXAMPLES, example)) as Record<string, unknown>;
      const file = out();
      const res = await runNetworkStage({
        runner: new Runner(),
        config,
        outputNetworkConfig: file,
        sysfsRoot: '/nonexistent',
      });
      expect(res.mode).toBe('custom');
      expect(parse(await readFile(file, 'utf8'))).toEqual({ network: config.network });
    }
  });

  it('network: {config: disabled} and mode disabled write nothing', async () => {
    const file = out();
    const config = loadYaml(path.join(OWN_FIXTURES, 'disabled.yaml')) as Record<string, unknown>;
    const res = await runNetworkStage({ runner: new Runner(), config, outputNetworkConfig: file });
    expect(res).toMatchObject({ mode: 'disabled', written: undefined });
    const res2 = await runNetworkStage({
      runner: new Runner(),
      config: {},
      outputNetworkConfig: file,
      mode: 'disabled',
    });
    expect(res2.written).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  });

  it('an invalid network: fails validation and writes nothing', async () => {
    const file = out();
    const config = loadYaml(path.join(OWN_FIXTURES, 'bad-v1.yaml')) as Record<string, unknown>;
    await expect(
      runNetworkStage({ runner: new Runner(), config, outputNetworkConfig: file }),
    ).rejects.toThrow(NetworkConfigError);
    expect(existsSync(file)).toBe(false);
    await expect(
      runNetworkStage({
        runner: new Runner(),
        config: {},
        outputNetworkConfig: file,
        mode: 'custom',
      }),
    ).rejects.toThrow(/net-meta custom needs a network: key/);
  });

  it('dry-run records the write and does not perform it', async () => {
    const file = out();
    const runner = new Runner({ dryRun: true });
    const config = loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')) as Record<
      string,
      unknown
    >;
    const res = await runNetworkStage({ runner, config, outputNetworkConfig: file });
    expect(res.written).toBe(file);
    expect(runner.plan).toEqual([
      { kind: 'write', path: file, description: 'network config (custom)' },
    ]);
    expect(existsSync(file)).toBe(false);
  });

  it("parses curtin's net-meta argument forms", () => {
    expect(parseNetMetaArgs(['custom'])).toEqual({ mode: 'custom', devices: [] });
    expect(parseNetMetaArgs(['--devices=eth0', 'dhcp'])).toEqual({
      mode: 'dhcp',
      devices: ['eth0'],
    });
    expect(parseNetMetaArgs(['-D', 'eth0', '-D', 'eth1', 'dhcp'])).toEqual({
      mode: 'dhcp',
      devices: ['eth0', 'eth1'],
    });
    expect(parseNetMetaArgs([])).toEqual({ mode: 'auto', devices: [] });
  });
});

describe('target planning', () => {
  async function targetWith(files: string[], links: [string, string][] = []): Promise<string> {
    const root = await mkdtemp(path.join(top, 'target-'));
    for (const f of files) {
      await mkdir(path.dirname(path.join(root, f)), { recursive: true });
      await writeFile(path.join(root, f), '');
    }
    for (const [at, to] of links) {
      await mkdir(path.dirname(path.join(root, at)), { recursive: true });
      await symlink(to, path.join(root, at));
    }
    return root;
  }

  it('picks netplan, then ifupdown, then networkd', async () => {
    expect(await chooseRenderer(await targetWith(['usr/sbin/netplan', 'usr/sbin/ifup']))).toBe(
      'netplan',
    );
    expect(await chooseRenderer(await targetWith(['usr/sbin/ifup']))).toBe('eni');
    expect(await chooseRenderer(await targetWith(['sbin/ifup']))).toBe('eni');
    expect(await chooseRenderer(await targetWith(['usr/lib/systemd/systemd-networkd']))).toBe(
      'networkd',
    );
  });

  it("resolves the target's absolute symlinks inside the target, not on the host", async () => {
    // /sbin -> /usr/sbin (absolute): must mean TARGET/usr/sbin. The host has
    // /usr/sbin/netplan installed, which must not leak into the decision.
    const root = await targetWith(['usr/sbin/ifup'], [['sbin', '/usr/sbin']]);
    expect(await existsInTarget(root, '/sbin/ifup')).toBe(true);
    expect(await existsInTarget(root, '/sbin/netplan')).toBe(false);
    expect(await chooseRenderer(root)).toBe('eni');
    const escape = await targetWith(
      [],
      [['usr/sbin/netplan', '../../../../../../usr/sbin/netplan']],
    );
    expect(await existsInTarget(escape, '/usr/sbin/netplan')).toBe(false);
  });

  it('with cloud-init: rendered files plus the pass-through for cloud-init', async () => {
    const root = await targetWith(['usr/sbin/netplan', 'usr/bin/cloud-init']);
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')));
    const plan = await planTargetNetwork(root, doc);
    expect(plan.renderer).toBe('netplan');
    expect(plan.cloudInit).toBe(true);
    expect(plan.files.map((f) => f.path)).toEqual([
      '/etc/netplan/50-cloud-init.yaml',
      CLOUD_INIT_NET_CFG,
    ]);
    const passed = parse(plan.files[1]!.content) as { network: unknown };
    expect(passed.network).toEqual(
      (loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')) as { network: unknown }).network,
    );
    // Disabled: nothing rendered, but cloud-init is told not to add its fallback.
    const off = await planTargetNetwork(root, { kind: 'disabled' });
    expect(off.files.map((f) => [f.path, parse(f.content)])).toEqual([
      [CLOUD_INIT_NET_CFG, { network: { config: 'disabled' } }],
    ]);
  });

  it('ENI target without cloud-init: interfaces files plus udev pinning', async () => {
    const root = await targetWith(['usr/sbin/ifup']);
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')));
    const plan = await planTargetNetwork(root, doc);
    expect(plan.files.map((f) => f.path)).toEqual([
      '/etc/network/interfaces',
      '/etc/network/interfaces.d/50-pxm.cfg',
      '/etc/udev/rules.d/70-persistent-net.rules',
    ]);
  });
});

describe('applying to a target (for the curthooks network module)', () => {
  it('stage output → load → plan → write: files land in the target with their modes', async () => {
    const out = path.join(top, 'apply-out', 'network_config');
    const config = loadYaml(path.join(OWN_FIXTURES, 'v2-server.yaml')) as Record<string, unknown>;
    await runNetworkStage({ runner: new Runner(), config, outputNetworkConfig: out });
    const doc = await loadNetworkConfigFile(out);
    expect(doc?.kind).toBe('v2');
    const root = await mkdtemp(path.join(top, 'apply-target-'));
    await mkdir(path.join(root, 'usr/sbin'), { recursive: true });
    await writeFile(path.join(root, 'usr/sbin/netplan'), '');
    const plan = await planTargetNetwork(root, doc!);
    await writeRenderedFiles(new Runner(), root, plan.files);
    const written = path.join(root, 'etc/netplan/50-cloud-init.yaml');
    expect((await stat(written)).mode & 0o777).toBe(0o600);
    expect((parse(await readFile(written, 'utf8')) as { network: unknown }).network).toEqual(
      config.network,
    );
    expect(await loadNetworkConfigFile(path.join(top, 'no-such-file'))).toBeUndefined();
  });

  it("a target's absolute symlink cannot send a write onto the host", async () => {
    const outside = `/tmp/pxm-net-outside-${process.pid}`;
    const root = await mkdtemp(path.join(top, 'hostile-'));
    await symlink(outside, path.join(root, 'etc'));
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')));
    if (doc.kind === 'disabled') throw new Error('disabled');
    await writeRenderedFiles(new Runner(), root, renderWith('eni', doc));
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(path.join(root, outside, 'network/interfaces'))).toBe(true);
  });

  it('dry-run: one write step per file, nothing written', async () => {
    const root = await mkdtemp(path.join(top, 'dry-'));
    const runner = new Runner({ dryRun: true });
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')));
    if (doc.kind === 'disabled') throw new Error('disabled');
    const files = renderWith('networkd', doc);
    await writeRenderedFiles(runner, root, files);
    expect(runner.plan.map((s) => s.kind === 'write' && s.path)).toEqual(
      files.map((f) => path.join(root, f.path)),
    );
    expect(existsSync(path.join(root, 'etc'))).toBe(false);
  });
});
