// NIC discovery against real sysfs.
//
// 1. In a network namespace this test creates: veth pairs and a tap device whose MACs and
//    carrier the test sets (a veth has carrier when it and its peer are up; a tap without
//    a reader has none). `ip netns exec` remounts /sys, so the built bundle's
//    `pxm net-meta` sees exactly the namespace's devices. This host's kernel has no
//    dummy, bridge, bond or vlan drivers, so only veth and tap are used.
//    Namespace devices are all virtual (no `device` link), so the default rule must find
//    none of them; `--include-virtual` lets the same code path choose among them by carrier.
// 2. On the host's own /sys/class/net, the physical rule is checked against what sysfs
//    shows for every entry (the physical-NIC path, which a namespace cannot provide).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { parse } from 'yaml';
import { discoverNics } from '../../src/net/discover.js';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { bundlePath } from '../helpers/pxm.js';

const NS = `pxm-net-${process.pid}-${randomBytes(3).toString('hex')}`;
const canRun = capable(all(haveRoot(), haveCommand('ip')), 'NIC discovery in a network namespace');

const MAC = {
  va0: '02:50:58:00:0a:01',
  vb0: '02:50:58:00:0b:01',
  vc0: '02:50:58:00:0c:01',
  vd0: '02:50:58:00:0d:01',
  tp0: '02:50:58:00:0e:01',
};

function ip(...args: string[]): void {
  execFileSync('ip', ['-n', NS, ...args], { stdio: 'pipe' });
}

async function pxmInNs(args: string[], env: Record<string, string> = {}) {
  return execa('ip', ['netns', 'exec', NS, process.execPath, bundlePath, ...args], {
    reject: false,
    env,
  });
}

interface V1 {
  network: { version: 1; config: { name: string; mac_address?: string; subnets: unknown[] }[] };
}

let work: string | undefined;

describe.skipIf(!canRun)('NIC discovery in a network namespace', () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'pxm-net-ns-'));
    execFileSync('ip', ['netns', 'add', NS]);
    // va0 <-> vb0: both up, so both have carrier.
    ip('link', 'add', 'va0', 'type', 'veth', 'peer', 'name', 'vb0');
    // vc0 <-> vd0: vc0 up but its peer down: no carrier; vd0 admin-down.
    ip('link', 'add', 'vc0', 'type', 'veth', 'peer', 'name', 'vd0');
    // tp0: a tap nobody reads: up, no carrier, and a tun device.
    ip('tuntap', 'add', 'dev', 'tp0', 'mode', 'tap');
    for (const [dev, mac] of Object.entries(MAC)) ip('link', 'set', dev, 'address', mac);
    for (const dev of ['va0', 'vb0', 'vc0', 'tp0']) ip('link', 'set', dev, 'up');
  });

  afterAll(async () => {
    // Deleting the namespace deletes every device in it.
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'pipe' });
    } catch {
      // not created (setup failed before `netns add`)
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the namespace has the carrier states the test set up', () => {
    const carrier = (dev: string) =>
      execFileSync('ip', [
        'netns',
        'exec',
        NS,
        'sh',
        '-c',
        `cat /sys/class/net/${dev}/carrier 2>/dev/null || echo none`,
      ])
        .toString()
        .trim();
    expect([
      carrier('va0'),
      carrier('vb0'),
      carrier('vc0'),
      carrier('vd0'),
      carrier('tp0'),
    ]).toEqual(['1', '1', '0', 'none', '0']);
  });

  it('pxm net-meta auto --include-virtual: DHCP on exactly the NICs with carrier, MACs kept', async () => {
    const r = await pxmInNs(['net-meta', 'auto', '--include-virtual']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout)).toEqual({
      network: {
        version: 1,
        config: [
          { type: 'physical', name: 'va0', mac_address: MAC.va0, subnets: [{ type: 'dhcp' }] },
          { type: 'physical', name: 'vb0', mac_address: MAC.vb0, subnets: [{ type: 'dhcp' }] },
        ],
      },
    });
  });

  it('carrier is read at discovery time: taking the peer down removes both ends', async () => {
    ip('link', 'set', 'vb0', 'down');
    try {
      const r = await pxmInNs(['net-meta', 'auto', '--include-virtual']);
      expect(r.exitCode).toBe(0);
      // No NIC has carrier now: the documented fallback, first NIC by name, with a warning.
      expect((parse(r.stdout) as V1).network.config.map((c) => c.name)).toEqual(['tp0']);
      expect(r.stderr).toContain('no NIC has carrier');
    } finally {
      ip('link', 'set', 'vb0', 'up');
    }
  });

  it('by the default rule namespace devices are virtual: nothing is configured', async () => {
    const r = await pxmInNs(['net-meta', 'auto']);
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout)).toEqual({ network: { version: 1, config: [] } });
    expect(r.stderr).toContain('no network interfaces found');
  });

  it("curtin's --device form picks the named NIC, carrier or not", async () => {
    const r = await pxmInNs(['net-meta', '--device=vc0', 'dhcp']);
    expect(r.exitCode).toBe(0);
    expect((parse(r.stdout) as V1).network.config).toEqual([
      { type: 'physical', name: 'vc0', mac_address: MAC.vc0, subnets: [{ type: 'dhcp' }] },
    ]);
    const bad = await pxmInNs(['net-meta', '-D', 'eth9', 'dhcp']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('eth9: no such network interface');
  });

  it('as a stage command: CONFIG and OUTPUT_NETWORK_CONFIG from the environment', async () => {
    const cfg = path.join(work!, 'config.json');
    const out = path.join(work!, 'network_config');
    // No network: in the config: discovery decides.
    await writeFile(cfg, JSON.stringify({ stages: ['network'] }));
    const r = await pxmInNs(['net-meta', 'auto', '--include-virtual'], {
      CONFIG: cfg,
      OUTPUT_NETWORK_CONFIG: out,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    const written = parse(await readFile(out, 'utf8')) as V1;
    expect(written.network.config.map((c) => c.name)).toEqual(['va0', 'vb0']);
    // With network: the config wins over discovery.
    await writeFile(
      cfg,
      JSON.stringify({
        network: {
          version: 2,
          ethernets: { lan: { match: { macaddress: MAC.vc0 }, dhcp4: true } },
        },
      }),
    );
    const r2 = await pxmInNs(['net-meta', 'auto'], { CONFIG: cfg, OUTPUT_NETWORK_CONFIG: out });
    expect(r2.exitCode).toBe(0);
    expect(parse(await readFile(out, 'utf8'))).toEqual({
      network: { version: 2, ethernets: { lan: { match: { macaddress: MAC.vc0 }, dhcp4: true } } },
    });
  });
});

describe('NIC discovery on the host sysfs', () => {
  it('returns exactly the entries with a device link (not wireless), with their sysfs facts', async () => {
    const root = '/sys/class/net';
    const nics = await discoverNics();
    const expected = readdirSync(root)
      .filter(
        (n) =>
          existsSync(path.join(root, n, 'device')) && !existsSync(path.join(root, n, 'wireless')),
      )
      .filter(
        (n) =>
          !/DEVTYPE=(wlan|vlan|bridge|bond)/.test(
            readFileSync(path.join(root, n, 'uevent'), 'utf8'),
          ),
      )
      .sort();
    expect(nics.map((n) => n.name)).toEqual(expected);
    for (const n of nics) {
      expect(n.kind).toBe('physical');
      expect(n.mac).toBe(
        readFileSync(path.join(root, n.name, 'address'), 'utf8')
          .trim()
          .toLowerCase(),
      );
      expect(n.driver).toBe(path.basename(readlinkSync(path.join(root, n.name, 'device/driver'))));
      let carrier = '0';
      try {
        carrier = readFileSync(path.join(root, n.name, 'carrier'), 'utf8').trim();
      } catch {
        // down: no carrier
      }
      expect(n.carrier).toBe(carrier === '1');
    }
    // Loopback is never returned, and it always exists.
    expect(nics.some((n) => n.name === 'lo')).toBe(false);
  });
});
