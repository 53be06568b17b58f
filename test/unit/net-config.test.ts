import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { parseNetworkConfig, serializeNetworkConfig } from '../../src/net/config.js';
import { NetworkConfigError } from '../../src/net/problems.js';
import { ExitCode } from '../../src/util/errors.js';
import { parse } from 'yaml';
import { OWN_FIXTURES, SHARED_EXAMPLES, loadYaml } from './net-helpers.js';

function problemsOf(input: unknown): string[] {
  try {
    parseNetworkConfig(input);
  } catch (e) {
    if (e instanceof NetworkConfigError) return e.problems.map((p) => `${p.where}: ${p.problem}`);
    throw e;
  }
  throw new Error('expected the config to be rejected');
}

describe('network config v1', () => {
  it("parses curtin's network-all example: every type, bond, bridge, vlan, DNS, routes", () => {
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-all.yaml')));
    if (doc.kind !== 'v1') throw new Error(doc.kind);
    const byName = new Map(doc.state.interfaces.map((i) => [i.name, i]));
    expect([...byName.keys()]).toEqual([
      'eth0',
      'eth1',
      'eth2',
      'eth3',
      'eth4',
      'eth5',
      'eth0.101',
      'bond0',
      'bond0.200',
      'br0',
    ]);
    expect(byName.get('bond0')?.bond).toEqual({
      interfaces: ['eth1', 'eth2'],
      params: { mode: 'active-backup' },
    });
    expect(byName.get('bond0.200')?.vlan).toEqual({ id: 200, link: 'bond0' });
    expect(byName.get('br0')?.subnets).toEqual([
      { type: 'static', family: 4, address: '192.168.14.2/24' },
      // "default to /64", as the example's comment says.
      { type: 'static', family: 6, address: '2001:1::1/64' },
    ]);
    expect(byName.get('eth5')?.subnets).toEqual([{ type: 'dhcp4', control: 'manual' }]);
    expect(doc.state.nameservers).toEqual(['8.8.8.8', '4.4.4.4', '8.8.4.4']);
    expect(doc.state.search).toEqual(['barley.maas', 'wark.maas', 'foobar.maas']);
    // 11.0.0.1 is on no configured subnet: kept aside, and said so.
    expect(doc.state.unattachedRoutes).toEqual([{ to: '10.0.0.0/8', via: '11.0.0.1', metric: 3 }]);
    expect(doc.state.warnings.join('\n')).toContain('10.0.0.0/8 via 11.0.0.1');
  });

  it('normalises netmask forms, MAC case and ties global routes to the right interface', () => {
    const doc = parseNetworkConfig(loadYaml(path.join(OWN_FIXTURES, 'v1-datacenter.yaml')));
    if (doc.kind !== 'v1') throw new Error(doc.kind);
    const bond = doc.state.interfaces.find((i) => i.name === 'bond0')!;
    expect(bond.subnets[0]).toEqual({
      type: 'static',
      family: 4,
      address: '10.20.0.5/24',
      gateway: '10.20.0.1',
    });
    expect(bond.bond?.params).toEqual({
      mode: '802.3ad',
      miimon: 100,
      lacp_rate: 'fast',
      xmit_hash_policy: 'layer3+4',
    });
    // The global route's gateway 10.20.0.254 is on bond0's 10.20.0.0/24.
    expect(bond.routes).toEqual([{ to: '10.99.0.0/16', via: '10.20.0.254', metric: 10 }]);
    const vlan = doc.state.interfaces.find((i) => i.name === 'bond0.300')!;
    expect(vlan.routes).toEqual([{ to: '172.17.0.0/16', via: '172.16.30.1', metric: 50 }]);
    expect(doc.state.unattachedRoutes).toEqual([]);
  });

  it('a nameserver entry scoped to an interface lands on that interface only', () => {
    const doc = parseNetworkConfig({
      network: {
        version: 1,
        config: [
          { type: 'physical', name: 'eth0', subnets: [{ type: 'static', address: '10.0.0.2/24' }] },
          { type: 'nameserver', address: '10.0.0.53', search: 'lan', interface: 'eth0' },
          { type: 'nameserver', address: '9.9.9.9' },
        ],
      },
    });
    if (doc.kind !== 'v1') throw new Error(doc.kind);
    expect(doc.state.interfaces[0]).toMatchObject({ nameservers: ['10.0.0.53'], search: ['lan'] });
    expect(doc.state.nameservers).toEqual(['9.9.9.9']);
    expect(
      problemsOf({
        network: {
          version: 1,
          config: [{ type: 'nameserver', address: '1.1.1.1', interface: 'eth4' }],
        },
      }),
    ).toEqual(['network/config[0]: interface refers to eth4, which is not defined']);
  });

  it('sysctl mappings are accepted with a warning (rendered by cloud-init only)', () => {
    const doc = parseNetworkConfig(loadYaml(path.join(SHARED_EXAMPLES, 'network-all.yaml')));
    expect(doc.kind === 'v1' && doc.state.warnings).toEqual(
      expect.arrayContaining([
        "network/config[9] (br0): ipv4_conf is passed to cloud-init only; pxm's renderers do not set sysctls",
      ]),
    );
  });

  it('accepts the bare form and the disabled form', () => {
    const bare = parseNetworkConfig(loadYaml(path.join(OWN_FIXTURES, 'v1-dhcp-manual.yaml')));
    expect(bare.kind).toBe('v1');
    expect(parseNetworkConfig(loadYaml(path.join(OWN_FIXTURES, 'disabled.yaml')))).toEqual({
      kind: 'disabled',
    });
    expect(parseNetworkConfig({ config: 'disabled' })).toEqual({ kind: 'disabled' });
  });

  it('reports every problem in a bad config, each naming its entry', () => {
    const problems = problemsOf(loadYaml(path.join(OWN_FIXTURES, 'bad-v1.yaml')));
    expect(problems).toEqual(
      expect.arrayContaining([
        'network/config[0] (eth0): mac_address 52:54:00:zz:00:01 is not a MAC address (xx:xx:xx:xx:xx:xx)',
        'network/config[2] (bond0): params: unknown bond parameter bond-frobnicate',
        'network/config[2] (bond0): bond_interfaces refers to eth9, which is not defined',
        'network/config[3] (eth0.5000): vlan_id must be an integer from 1 to 4094 (got 5000)',
        'network/config[4] (eth0): name eth0 is already used by network/config[0] (eth0)',
        'network/config[5] (eth3) subnets[0]: address: 10.0.0.300 is not an IPv4 or IPv6 address',
        'network/config[5] (eth3) subnets[1]: address 10.0.1.5 has no prefix length: write 10.0.1.5/24 or add netmask or prefix',
        'network/config[5] (eth3) subnets[2]: type dhcp5 is not one of dhcp, dhcp4, dhcp6, static, static6, manual',
        'network/config[6] (tun0): type tunnel is not one of physical, bond, bridge, vlan, nameserver, route',
      ]),
    );
    expect(problems).toHaveLength(9);
  });

  it('the error is a validation error (exit 2) whose message lists every problem', () => {
    let err: unknown;
    try {
      parseNetworkConfig(loadYaml(path.join(OWN_FIXTURES, 'bad-v1.yaml')), 'bad-v1.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetworkConfigError);
    const e = err as NetworkConfigError;
    expect(e.exitCode).toBe(ExitCode.INVALID);
    expect(e.message.split('\n')[0]).toBe('invalid network config in bad-v1.yaml:');
    expect(e.message.split('\n')).toHaveLength(10);
  });

  it('catches cross-entry mistakes: members with addresses, double membership, family mismatch', () => {
    const problems = problemsOf({
      network: {
        version: 1,
        config: [
          { type: 'physical', name: 'a', subnets: [{ type: 'dhcp' }] },
          { type: 'physical', name: 'b' },
          { type: 'bond', name: 'bond0', bond_interfaces: ['a', 'b'] },
          { type: 'bridge', name: 'br0', bridge_interfaces: ['b'] },
          {
            type: 'physical',
            name: 'c',
            subnets: [{ type: 'static', address: '10.0.0.2/24', gateway: 'fd00::1' }],
          },
          { type: 'route', destination: '10.1.0.0/16' },
        ],
      },
    });
    expect(problems).toEqual([
      'network/config[4] (c) subnets[0]: gateway fd00::1 is not in the same address family as 10.0.0.2/24',
      'network/config[5]: a route needs a gateway',
      'network/config[3] (br0): bridge_interfaces: b is already a member of bond0',
      'network/config[0] (a): has addresses but is a member of bond0; put the subnets on bond0',
    ]);
  });

  it('rejects a missing or unknown version', () => {
    expect(problemsOf({ network: { config: [] } })).toEqual([
      'network/version: is required (1 or 2)',
    ]);
    expect(problemsOf({ network: { version: 3 } })).toEqual(['network/version: 3 is not 1 or 2']);
  });

  it("serialises as curtin's OUTPUT_NETWORK_CONFIG: network: + the config as given", () => {
    const input = loadYaml(path.join(SHARED_EXAMPLES, 'network-simple.yaml')) as {
      network: unknown;
    };
    const doc = parseNetworkConfig(input);
    expect(parse(serializeNetworkConfig(doc))).toEqual({ network: input.network });
    expect(parse(serializeNetworkConfig({ kind: 'disabled' }))).toEqual({
      network: { config: 'disabled' },
    });
  });
});

describe('network config v2', () => {
  it('maps ethernets/bonds/bridges/vlans and resolves ids to names', () => {
    const doc = parseNetworkConfig(loadYaml(path.join(OWN_FIXTURES, 'v2-server.yaml')));
    if (doc.kind !== 'v2') throw new Error(doc.kind);
    const by = new Map(doc.state.interfaces.map((i) => [i.name, i]));
    expect(by.get('nic1')).toMatchObject({
      type: 'physical',
      mac: '52:54:00:30:00:02',
      rename: true,
    });
    expect(by.get('bond0')?.bond).toEqual({
      interfaces: ['nic1', 'nic2'],
      params: { mode: 'active-backup', miimon: 100, primary: 'nic1' },
    });
    expect(by.get('bond0')?.routes).toEqual([{ to: 'default', via: '10.30.0.1' }]);
    expect(by.get('vlan40')?.vlan).toEqual({ id: 40, link: 'bond0' });
    expect(by.get('vlan40')?.subnets.map((s) => s.type === 'static' && s.address)).toEqual([
      '10.40.0.5/24',
      'fd00:40::5/64',
    ]);
    expect(by.get('br0')?.bridge?.params).toEqual({ stp: 'off', fd: 0 });
  });

  it("accepts curtin's passthrough test (match: mac_address) with a warning", () => {
    const doc = parseNetworkConfig(
      loadYaml(path.join(SHARED_EXAMPLES, 'tests_network_v2_passthrough.yaml')),
    );
    if (doc.kind !== 'v2') throw new Error(doc.kind);
    expect(doc.state.interfaces[0]).toMatchObject({
      name: 'interface0',
      mac: '52:54:00:12:34:00',
      byMac: true,
      rename: false,
    });
    expect(doc.state.warnings.join('\n')).toContain('mac_address');
  });

  it('references are device ids; the model uses the set-name names', () => {
    const eth = { match: { macaddress: '52:54:00:00:00:01' }, 'set-name': 'lan1' };
    const doc = parseNetworkConfig({
      network: { version: 2, ethernets: { e1: eth }, bonds: { b0: { interfaces: ['e1'] } } },
    });
    expect(
      doc.kind === 'v2' && doc.state.interfaces.map((i) => [i.name, i.bond?.interfaces]),
    ).toEqual([
      ['lan1', undefined],
      ['b0', ['lan1']],
    ]);
    expect(
      problemsOf({
        network: { version: 2, ethernets: { e1: eth }, bonds: { b0: { interfaces: ['lan1'] } } },
      }),
    ).toEqual(['network/bonds/b0: interfaces refers to lan1, which is not defined']);
  });

  it('reports every problem in a bad v2 config with its key path', () => {
    expect(problemsOf(loadYaml(path.join(OWN_FIXTURES, 'bad-v2.yaml')))).toEqual([
      'network/ethernets/eth0: addresses[0] 10.0.0.5 has no prefix length (netplan needs ADDRESS/PREFIX)',
      'network/ethernets/eth0: gateway4 fd00::1 is not an IPv4 address',
      'network/vlans/vlan10: id is required',
      'network/bonds/bond0: interfaces refers to eth5, which is not defined',
    ]);
  });

  it('rejects unknown top-level keys but passes netplan-only sections with a warning', () => {
    expect(problemsOf({ network: { version: 2, ethernet: {} } })).toEqual([
      'network/ethernet: unknown key in a version 2 network config',
    ]);
    const doc = parseNetworkConfig({ network: { version: 2, wifis: { wl0: {} } } });
    expect(doc.kind === 'v2' && doc.state.warnings[0]).toContain('network/wifis');
  });
});
