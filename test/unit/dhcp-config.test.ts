import { describe, expect, it } from 'vitest';
import { parseDhcpConfig } from '../../src/server/dhcp/config.js';
import { servingInterface } from '../../src/server/dhcp/iface.js';

const ok = { subnet: '10.0.0.0/24', range: ['10.0.0.100', '10.0.0.199'] };
const bad = (v: unknown): string => {
  try {
    parseDhcpConfig('server.yaml: dhcp', v);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('dhcp config', () => {
  it('reads one inline subnet with defaults', () => {
    const c = parseDhcpConfig('x', { ...ok, dns: '10.0.0.1', router: '10.0.0.1' });
    expect(c.subnets[0]).toMatchObject({
      prefix: 24,
      leaseTime: 3600,
      dns: ['10.0.0.1'],
      router: '10.0.0.1',
    });
  });
  it('names the key of every bad value', () => {
    expect(bad({ ...ok, subnet: '10.0.0.1/24' })).toMatch(/dhcp\.subnet: .*host bits/);
    expect(bad({ ...ok, range: ['10.0.1.1', '10.0.1.5'] })).toMatch(/dhcp\.range: must lie inside/);
    expect(bad({ ...ok, range: ['10.0.0.9', '10.0.0.3'] })).toMatch(/first address is after/);
    expect(bad({ ...ok, range: ['10.0.0.0', '10.0.0.3'] })).toMatch(/network or broadcast/);
    expect(bad({ ...ok, router: '10.1.0.1' })).toMatch(/dhcp\.router/);
    expect(bad({ ...ok, dns: ['x'] })).toMatch(/dhcp\.dns\[0\]/);
    expect(bad({ ...ok, lease_time: 5 })).toMatch(/dhcp\.lease_time/);
    expect(bad({ ...ok, pool: 1 })).toMatch(/dhcp\.pool: unknown key/);
    expect(
      bad({ subnets: [ok, { subnet: '10.0.0.0/16', range: ['10.0.1.1', '10.0.1.9'] }] }),
    ).toMatch(/subnets\[1\]: overlaps subnets\[0\]/);
  });
  it('refuses an interface without IPv4 and names it', () => {
    const ifs = {
      v6only: [
        {
          address: 'fe80::1',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6' as const,
          mac: '00:00:00:00:00:01',
          internal: false,
          cidr: 'fe80::1/64',
          scopeid: 2,
        },
      ],
      eth0: [
        {
          address: '10.1.2.3',
          netmask: '255.255.0.0',
          family: 'IPv4' as const,
          mac: '00:00:00:00:00:02',
          internal: false,
          cidr: '10.1.2.3/16',
        },
      ],
    };
    expect(() => servingInterface('v6only', ifs)).toThrow(
      /--interface v6only: has no IPv4 address/,
    );
    expect(() => servingInterface('nope', ifs)).toThrow(/no such interface/);
    expect(servingInterface('eth0', ifs)).toMatchObject({
      address: '10.1.2.3',
      cidr: '10.1.0.0/16',
    });
  });
});
