// Which address and subnet the DHCP server serves, read from os.networkInterfaces(): the
// server refuses to start on an interface without IPv4 (it would have no source address
// for its replies and no server identifier).
import { existsSync } from 'node:fs';
import os from 'node:os';
import { ValidationError } from '../../util/errors.js';

export interface ServingInterface {
  name: string;
  address: string;
  /** CIDR of the interface's network, e.g. 10.0.0.0/24. */
  cidr: string;
  prefix: number;
}

export function servingInterface(
  name: string,
  all: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): ServingInterface {
  if (!/^[\w.:-]{1,15}$/.test(name))
    throw new ValidationError(`--interface ${name}`, 'not an interface name');
  const addrs = all[name];
  // networkInterfaces() lists only interfaces with an address; sysfs knows the others.
  if (!addrs && existsSync(`/sys/class/net/${name}`))
    throw new ValidationError(
      `--interface ${name}`,
      'has no IPv4 address; DHCP needs one to serve from',
    );
  if (!addrs)
    throw new ValidationError(
      `--interface ${name}`,
      `no such interface (have: ${Object.keys(all).join(', ') || 'none'})`,
    );
  const v4 = addrs.find((a) => a.family === 'IPv4' && !a.internal);
  if (!v4 || !v4.cidr)
    throw new ValidationError(
      `--interface ${name}`,
      'has no IPv4 address; DHCP needs one to serve from',
    );
  const prefix = Number(v4.cidr.split('/')[1]);
  const parts = v4.address.split('.').map(Number);
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  const cidr = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
  return { name, address: v4.address, cidr, prefix };
}
