// Every example renders to netplan, ENI and networkd; assertions read the rendered files
// back (YAML, interfaces(5), unit-file syntax) and check what each interface gets.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { parse } from 'yaml';
import { parseNetworkConfig, type NetworkDoc } from '../../src/net/config.js';
import { renderEni, ENI_D_PATH, ENI_PATH } from '../../src/net/render-eni.js';
import { renderNetplan, NETPLAN_PATH } from '../../src/net/render-netplan.js';
import { renderNetworkd, RESOLVED_DROPIN } from '../../src/net/render-networkd.js';
import { renderPinning, UDEV_RULES_PATH } from '../../src/net/render-pinning.js';
import { renderWith } from '../../src/net/target.js';
import {
  OWN_FIXTURES,
  SHARED_EXAMPLES,
  fileAt,
  iniValues,
  loadYaml,
  parseEni,
  stanzasOf,
} from './net-helpers.js';

type Parsed = Exclude<NetworkDoc, { kind: 'disabled' }>;
function load(file: string): Parsed {
  const doc = parseNetworkConfig(loadYaml(file));
  if (doc.kind === 'disabled') throw new Error('disabled');
  return doc;
}
const shared = (n: string) => load(path.join(SHARED_EXAMPLES, n));
const own = (n: string) => load(path.join(OWN_FIXTURES, n));

interface NetplanDoc {
  network: {
    version: number;
    ethernets?: Record<string, Record<string, unknown>>;
    bonds?: Record<string, Record<string, unknown>>;
    bridges?: Record<string, Record<string, unknown>>;
    vlans?: Record<string, Record<string, unknown>>;
  };
}
function netplanOf(doc: Parsed): NetplanDoc {
  const files = renderWith('netplan', doc);
  expect(files.map((f) => f.path)).toEqual([NETPLAN_PATH]);
  expect(files[0]!.mode).toBe(0o600);
  return parse(files[0]!.content) as NetplanDoc;
}

describe('netplan renderer', () => {
  it('network-all (v1): renames, bond, bridge, vlans, addresses, DNS', () => {
    const np = netplanOf(shared('network-all.yaml')).network;
    expect(np.version).toBe(2);
    expect(np.ethernets?.eth3).toEqual({
      match: { macaddress: '66:bb:9f:2c:e8:80' },
      'set-name': 'eth3',
    });
    expect(np.bonds?.bond0).toMatchObject({
      interfaces: ['eth1', 'eth2'],
      macaddress: 'aa:bb:cc:dd:ee:ff',
      parameters: { mode: 'active-backup' },
      dhcp6: true,
    });
    expect(np.bridges?.br0).toMatchObject({
      interfaces: ['eth3', 'eth4'],
      // bridge_maxwait is ifupdown-only; stp 'off' becomes a boolean netplan accepts.
      parameters: { stp: false, 'forward-delay': 0 },
      addresses: ['192.168.14.2/24', '2001:1::1/64'],
    });
    expect(np.vlans?.['eth0.101']).toMatchObject({
      id: 101,
      link: 'eth0',
      mtu: 1500,
      addresses: ['192.168.0.2/24', '192.168.2.10/24'],
      routes: [{ to: '0.0.0.0/0', via: '192.168.0.1' }],
    });
    // netplan has no global DNS. As cloud-init does: an interface with DNS of its own
    // keeps it; the global entries go to statically addressed interfaces without any.
    expect(np.vlans?.['eth0.101']?.nameservers).toEqual({
      addresses: ['192.168.0.10', '10.23.23.134'],
      search: ['barley.maas', 'sacchromyces.maas', 'brettanomyces.maas'],
    });
    expect(np.bridges?.br0?.nameservers).toEqual({
      addresses: ['8.8.8.8', '4.4.4.4', '8.8.4.4'],
      search: ['barley.maas', 'wark.maas', 'foobar.maas'],
    });
    expect(np.ethernets?.eth5?.nameservers).toBeUndefined();
    expect(np.vlans?.['bond0.200']).toMatchObject({ id: 200, link: 'bond0', dhcp4: true });
  });

  it('network-simple (v1): dhcp, static with gateway and mtu, unconfigured NIC', () => {
    const np = netplanOf(shared('network-simple.yaml')).network;
    expect(np.ethernets?.eth0).toMatchObject({ dhcp4: true, 'set-name': 'eth0' });
    expect(np.ethernets?.eth1).toMatchObject({
      mtu: 1492,
      addresses: ['192.168.14.2/24', '192.168.14.4/24'],
      routes: [{ to: '0.0.0.0/0', via: '192.168.14.1' }],
    });
    expect(np.ethernets?.eth2).toEqual({
      match: { macaddress: 'cf:d6:af:48:e8:80' },
      'set-name': 'eth2',
    });
  });

  it('v2 is passed through as given (only the mac_address alias is fixed)', () => {
    const doc = own('v2-server.yaml');
    expect(netplanOf(doc).network).toEqual(doc.network);
    const passthrough = netplanOf(shared('tests_network_v2_passthrough.yaml')).network;
    expect(passthrough.ethernets?.interface0).toEqual({
      match: { macaddress: '52:54:00:12:34:00' },
      dhcp4: true,
    });
  });

  it('v1 datacenter: bond parameters in netplan spelling, bridge path cost per port', () => {
    const np = netplanOf(own('v1-datacenter.yaml')).network;
    expect(np.bonds?.bond0?.parameters).toEqual({
      mode: '802.3ad',
      'mii-monitor-interval': 100,
      'lacp-rate': 'fast',
      'transmit-hash-policy': 'layer3+4',
    });
    expect(np.bonds?.bond0?.routes).toEqual([
      { to: '0.0.0.0/0', via: '10.20.0.1' },
      { to: '::/0', via: 'fd00:20::1' },
      { to: '10.99.0.0/16', via: '10.20.0.254', metric: 10 },
    ]);
    expect(np.bridges?.['br-vm']?.parameters).toEqual({
      stp: true,
      'forward-delay': 4,
      'path-cost': { enp4s0: 40 },
    });
    expect(np.bridges?.['br-vm']?.macaddress).toBe('52:54:00:10:00:fe');
  });
});

describe('ENI renderer', () => {
  function eniOf(doc: Parsed) {
    const files = renderEni(doc.state);
    const main = parseEni(fileAt(files, ENI_PATH).content);
    expect(main.auto).toEqual(['lo']);
    expect(main.sources).toEqual(['/etc/network/interfaces.d/*']);
    // Global DNS on lo (resolvconf reads it there), as cloud-init writes it.
    const lo = stanzasOf(main, 'lo')[0]?.options ?? {};
    expect(lo['dns-nameservers']).toEqual(
      doc.state.nameservers.length ? [doc.state.nameservers.join(' ')] : undefined,
    );
    return parseEni(fileAt(files, ENI_D_PATH).content);
  }

  it('network-all (v1): bond members, bond, vlan, bridge, in dependency order', () => {
    const eni = eniOf(shared('network-all.yaml'));
    const order = [...new Set(eni.stanzas.map((s) => s.name))];
    // Members before their bond; the bond before its VLAN; ports before the bridge.
    expect(order.indexOf('eth1')).toBeLessThan(order.indexOf('bond0'));
    expect(order.indexOf('bond0')).toBeLessThan(order.indexOf('bond0.200'));
    expect(order.indexOf('eth3')).toBeLessThan(order.indexOf('br0'));
    expect(stanzasOf(eni, 'eth1')[0]).toMatchObject({
      method: 'manual',
      options: { 'bond-master': ['bond0'] },
    });
    expect(stanzasOf(eni, 'bond0')).toEqual([
      expect.objectContaining({
        family: 'inet6',
        method: 'dhcp',
        options: expect.objectContaining({
          'bond-slaves': ['none'],
          'bond-mode': ['active-backup'],
          hwaddress: ['ether aa:bb:cc:dd:ee:ff'],
        }),
      }),
    ]);
    expect(stanzasOf(eni, 'br0').map((s) => [s.family, s.method, s.options.address])).toEqual([
      ['inet', 'static', ['192.168.14.2/24']],
      ['inet6', 'static', ['2001:1::1/64']],
    ]);
    expect(stanzasOf(eni, 'br0')[0]?.options).toMatchObject({
      bridge_ports: ['eth3 eth4'],
      bridge_stp: ['off'],
      bridge_fd: ['0'],
      bridge_maxwait: ['0'],
    });
    expect(stanzasOf(eni, 'eth0.101')[0]?.options).toMatchObject({
      'vlan-raw-device': ['eth0'],
      'vlan-id': ['101'],
      gateway: ['192.168.0.1'],
      'dns-search': ['barley.maas sacchromyces.maas brettanomyces.maas'],
    });
    // The second address of the same family is its own stanza.
    expect(stanzasOf(eni, 'eth0.101')[1]).toMatchObject({
      method: 'static',
      options: { address: ['192.168.2.10/24'] },
    });
    // control: manual on eth5's subnet: ifup -a leaves it alone; so are NICs with no
    // config that no bond needs (eth3/eth4 are bridge ports: bridge-utils ups them).
    expect(eni.auto).toEqual(['eth1', 'eth2', 'eth0.101', 'bond0', 'bond0.200', 'br0']);
    expect(stanzasOf(eni, 'eth5')[0]?.method).toBe('dhcp');
  });

  it('v1 dhcp-manual: dhcp, inet6 dhcp with allow-hotplug, manual', () => {
    const eni = eniOf(own('v1-dhcp-manual.yaml'));
    expect(eni.auto).toEqual(['eth0', 'eth2']);
    expect(eni.hotplug).toEqual(['eth1']);
    expect(eni.stanzas.map((s) => `${s.name} ${s.family} ${s.method}`)).toEqual([
      'eth0 inet dhcp',
      'eth1 inet6 dhcp',
      'eth2 inet manual',
    ]);
  });

  it('v1 datacenter: extra routes as post-up/pre-down, bond params in ifenslave spelling', () => {
    const eni = eniOf(own('v1-datacenter.yaml'));
    const bond = stanzasOf(eni, 'bond0');
    expect(bond.map((s) => `${s.family} ${s.method} ${s.options.address}`)).toEqual([
      'inet static 10.20.0.5/24',
      'inet6 static fd00:20::5/64',
    ]);
    expect(bond[0]?.options).toMatchObject({
      'bond-mode': ['802.3ad'],
      'bond-miimon': ['100'],
      'bond-lacp-rate': ['fast'],
      'bond-xmit-hash-policy': ['layer3+4'],
      mtu: ['9000'],
      'dns-nameservers': ['10.20.0.2'],
      'post-up': ['ip route add 10.99.0.0/16 via 10.20.0.254 metric 10 || true'],
    });
    expect(bond[1]?.options.gateway).toEqual(['fd00:20::1']);
    expect(stanzasOf(eni, 'br-vm')[0]?.options.bridge_pathcost).toEqual(['enp4s0 40']);
  });

  it('v2 renders too; a NIC matched by MAC without set-name is pinned to its id', () => {
    const doc = shared('tests_network_v2_passthrough.yaml');
    const files = renderWith('eni', doc);
    const eni = parseEni(fileAt(files, ENI_D_PATH).content);
    expect(eni.stanzas).toEqual([
      { name: 'interface0', family: 'inet', method: 'dhcp', options: {} },
    ]);
    expect(fileAt(files, UDEV_RULES_PATH).content).toContain(
      'ATTR{address}=="52:54:00:12:34:00", NAME="interface0"',
    );
    const server = parseEni(fileAt(renderEni(own('v2-server.yaml').state), ENI_D_PATH).content);
    expect(stanzasOf(server, 'nic1')[0]?.options).toEqual({
      'bond-master': ['bond0'],
      'bond-primary': ['nic1'],
    });
    expect(stanzasOf(server, 'bond0')[0]?.options.gateway).toEqual(['10.30.0.1']);
  });
});

describe('networkd renderer', () => {
  const byPath = (doc: Parsed) =>
    new Map(renderNetworkd(doc.state).map((f) => [f.path, f.content]));
  const dir = '/etc/systemd/network';

  it('network-all (v1): .link renames, .netdev kinds, .network membership and addresses', () => {
    const files = byPath(shared('network-all.yaml'));
    const link = files.get(`${dir}/10-pxm-eth1.link`)!;
    expect(iniValues(link, 'Match', 'PermanentMACAddress')).toEqual(['aa:d6:9f:2c:e8:80']);
    expect(iniValues(link, 'Link', 'Name')).toEqual(['eth1']);
    const bond = files.get(`${dir}/20-pxm-bond0.netdev`)!;
    expect(iniValues(bond, 'NetDev', 'Kind')).toEqual(['bond']);
    expect(iniValues(bond, 'NetDev', 'MACAddress')).toEqual(['aa:bb:cc:dd:ee:ff']);
    expect(iniValues(bond, 'Bond', 'Mode')).toEqual(['active-backup']);
    expect(iniValues(files.get(`${dir}/30-pxm-eth1.network`)!, 'Network', 'Bond')).toEqual([
      'bond0',
    ]);
    expect(iniValues(files.get(`${dir}/30-pxm-eth3.network`)!, 'Network', 'Bridge')).toEqual([
      'br0',
    ]);
    expect(iniValues(files.get(`${dir}/30-pxm-eth0.network`)!, 'Network', 'VLAN')).toEqual([
      'eth0.101',
    ]);
    expect(iniValues(files.get(`${dir}/20-pxm-bond0.200.netdev`)!, 'VLAN', 'Id')).toEqual(['200']);
    const br = files.get(`${dir}/30-pxm-br0.network`)!;
    expect(iniValues(br, 'Network', 'Address')).toEqual(['192.168.14.2/24', '2001:1::1/64']);
    expect(iniValues(files.get(`${dir}/20-pxm-br0.netdev`)!, 'Bridge', 'STP')).toEqual(['no']);
    const vlan = files.get(`${dir}/30-pxm-eth0.101.network`)!;
    expect(iniValues(vlan, 'Route', 'Gateway')).toEqual(['192.168.0.1']);
    expect(iniValues(vlan, 'Network', 'DNS')).toEqual(['192.168.0.10', '10.23.23.134']);
    expect(iniValues(files.get(`${dir}/30-pxm-bond0.network`)!, 'Network', 'DHCP')).toEqual([
      'ipv6',
    ]);
    expect(iniValues(files.get(`${dir}/30-pxm-eth5.network`)!, 'Network', 'DHCP')).toEqual([
      'ipv4',
    ]);
    const resolved = files.get(RESOLVED_DROPIN)!;
    expect(iniValues(resolved, 'Resolve', 'DNS')).toEqual(['8.8.8.8 4.4.4.4 8.8.4.4']);
  });

  it('v1 datacenter: bond timings in time units, routes with destination and metric', () => {
    const files = byPath(own('v1-datacenter.yaml'));
    const bond = files.get(`${dir}/20-pxm-bond0.netdev`)!;
    expect(iniValues(bond, 'Bond', 'MIIMonitorSec')).toEqual(['100ms']);
    expect(iniValues(bond, 'Bond', 'LACPTransmitRate')).toEqual(['fast']);
    expect(iniValues(bond, 'Bond', 'TransmitHashPolicy')).toEqual(['layer3+4']);
    expect(iniValues(bond, 'NetDev', 'MTUBytes')).toEqual(['9000']);
    const vlan = files.get(`${dir}/30-pxm-bond0.300.network`)!;
    expect(iniValues(vlan, 'Network', 'IPv6AcceptRA')).toEqual(['no']);
    expect(iniValues(vlan, 'Route', 'Destination')).toEqual(['172.17.0.0/16']);
    expect(iniValues(vlan, 'Route', 'Metric')).toEqual(['50']);
    expect(iniValues(files.get(`${dir}/30-pxm-enp4s0.network`)!, 'Bridge', 'Cost')).toEqual(['40']);
  });

  it('v2: matched-by-MAC NIC without set-name keeps its kernel name (matched by MAC)', () => {
    const files = byPath(shared('tests_network_v2_passthrough.yaml'));
    expect([...files.keys()]).toEqual([`${dir}/30-pxm-interface0.network`]);
    const net = files.get(`${dir}/30-pxm-interface0.network`)!;
    expect(iniValues(net, 'Match', 'PermanentMACAddress')).toEqual(['52:54:00:12:34:00']);
    expect(iniValues(net, 'Match', 'Name')).toEqual([]);
    const server = byPath(own('v2-server.yaml'));
    expect(iniValues(server.get(`${dir}/30-pxm-nic1.network`)!, 'Network', 'PrimarySlave')).toEqual(
      ['yes'],
    );
    expect(iniValues(server.get(`${dir}/20-pxm-vlan40.netdev`)!, 'VLAN', 'Id')).toEqual(['40']);
  });
});

describe('MAC pinning', () => {
  it('writes one udev rule per named NIC with a MAC, and .link files on request', () => {
    const state = shared('network-simple.yaml').state;
    const files = renderPinning(state, ['udev', 'link']);
    const rules = fileAt(files, UDEV_RULES_PATH)
      .content.split('\n')
      .filter((l) => l.startsWith('SUBSYSTEM'));
    expect(rules).toEqual([
      'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="c0:d6:9f:2c:e8:80", NAME="eth0"',
      'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="aa:d6:9f:2c:e8:80", NAME="eth1"',
      'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="cf:d6:af:48:e8:80", NAME="eth2"',
    ]);
    const link = fileAt(files, '/etc/systemd/network/10-pxm-eth1.link').content;
    expect(iniValues(link, 'Link', 'MTUBytes')).toEqual(['1492']);
    // Nothing to pin without MACs.
    expect(renderPinning(own('v1-dhcp-manual.yaml').state).at(0)?.content).not.toContain('eth2');
  });
});

describe('netplan renderer options', () => {
  it('writes to another path when asked (e.g. 90-pxm.yaml)', () => {
    const files = renderNetplan(own('v1-dhcp-manual.yaml').state, {
      path: '/etc/netplan/90-pxm.yaml',
    });
    expect(files[0]?.path).toBe('/etc/netplan/90-pxm.yaml');
  });
});
