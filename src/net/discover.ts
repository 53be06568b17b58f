// NIC discovery from sysfs (/sys/class/net), read-only.
//
// The rule for "physical": a NIC is physical when /sys/class/net/NAME/device exists,
// i.e. the kernel has a bus device (PCI, USB, virtio, ...) behind it. Loopback, bridges,
// bonds, VLANs, veth, tun/tap, dummy, macvlan, wireguard... have no such link. Those with
// a kind of their own (loopback, bridge, bond, vlan, wlan) are always skipped; the rest
// of the virtual ones are only reported when `includeVirtual` is set, which is how tests
// in a network namespace (where only veth and dummy devices exist) exercise discovery.
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

export type NicKind =
  'physical' | 'loopback' | 'bridge' | 'bond' | 'vlan' | 'wlan' | 'tun' | 'virtual';

export interface Nic {
  name: string;
  /** Lower-case MAC, or undefined for devices without a link-layer address. */
  mac: string | undefined;
  /** 1 in /sys/class/net/NAME/carrier. An administratively down NIC reads as false. */
  carrier: boolean;
  /** `up`, `down`, `dormant`, `unknown`, ... from operstate. */
  operstate: string;
  /** Kernel driver (basename of device/driver), for physical NICs. */
  driver: string | undefined;
  kind: NicKind;
}

export interface DiscoverOptions {
  /** Directory standing in for /sys/class/net (default: the real one). */
  sysfsRoot?: string;
  /** Also return virtual NICs without their own kind (veth, dummy, tap...). */
  includeVirtual?: boolean;
}

export const SYS_CLASS_NET = '/sys/class/net';

async function readAttr(dir: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(dir, name), 'utf8')).trim();
  } catch {
    // EINVAL on `carrier` of a down interface, ENOENT on absent attributes.
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Classifies one /sys/class/net entry by what sysfs shows (see the rule above). */
export async function nicKind(dir: string, name: string): Promise<NicKind> {
  const type = await readAttr(dir, 'type');
  if (name === 'lo' || type === '772') return 'loopback';
  if (await exists(path.join(dir, 'bridge'))) return 'bridge';
  if (await exists(path.join(dir, 'bonding'))) return 'bond';
  const uevent = (await readAttr(dir, 'uevent')) ?? '';
  const devtype = /^DEVTYPE=(.*)$/m.exec(uevent)?.[1];
  if (devtype === 'vlan') return 'vlan';
  if (devtype === 'wlan' || (await exists(path.join(dir, 'wireless')))) return 'wlan';
  if (devtype === 'bridge') return 'bridge';
  if (devtype === 'bond') return 'bond';
  if (await exists(path.join(dir, 'device'))) return 'physical';
  if (await exists(path.join(dir, 'tun_flags'))) return 'tun';
  return 'virtual';
}

async function driverOf(dir: string): Promise<string | undefined> {
  try {
    return path.basename(await readlink(path.join(dir, 'device', 'driver')));
  } catch {
    return undefined;
  }
}

/** Every NIC DHCP could be configured on, sorted by name. */
export async function discoverNics(opts: DiscoverOptions = {}): Promise<Nic[]> {
  const root = opts.sysfsRoot ?? SYS_CLASS_NET;
  const names = (await readdir(root)).sort();
  const out: Nic[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    const kind = await nicKind(dir, name);
    const wanted =
      kind === 'physical' || (opts.includeVirtual && (kind === 'virtual' || kind === 'tun'));
    if (!wanted) continue;
    const mac = (await readAttr(dir, 'address'))?.toLowerCase();
    out.push({
      name,
      mac: mac && mac !== '00:00:00:00:00:00' ? mac : undefined,
      carrier: (await readAttr(dir, 'carrier')) === '1',
      operstate: (await readAttr(dir, 'operstate')) ?? 'unknown',
      driver: kind === 'physical' ? await driverOf(dir) : undefined,
      kind,
    });
  }
  return out;
}

/**
 * The v1 network config curtin's `net-meta dhcp` writes: one physical entry with DHCP
 * per NIC (name + MAC, so the installed system pins the name).
 */
export function dhcpConfigFor(nics: readonly Pick<Nic, 'name' | 'mac'>[]): {
  version: 1;
  config: Record<string, unknown>[];
} {
  return {
    version: 1,
    config: nics.map((n) => ({
      type: 'physical',
      name: n.name,
      ...(n.mac ? { mac_address: n.mac } : {}),
      subnets: [{ type: 'dhcp' }],
    })),
  };
}

/**
 * NICs that get DHCP when there is no network config: those with carrier. If none has
 * carrier (links not up yet, cables unplugged) the first NIC by name is used, as
 * cloud-init's fallback does, so the installed machine is not left without network.
 */
export function pickDhcpNics(nics: readonly Nic[]): { nics: Nic[]; fallback: boolean } {
  const withCarrier = nics.filter((n) => n.carrier);
  if (withCarrier.length > 0) return { nics: withCarrier, fallback: false };
  return { nics: nics.slice(0, 1), fallback: nics.length > 0 };
}
