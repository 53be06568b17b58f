// The start-up warm-up (src/server/dhcp/warm-up.ts) must really run the packet path: a
// warm-up whose synthetic packets were all ignored would compile nothing. That it leaves
// nothing behind shows end to end: 4000 warm-up leases in the real table would exhaust
// the 100-address pool the namespace tests (dhcp-clients.test.ts) lease from.
import { describe, expect, it } from 'vitest';
import { controllerBootPolicy } from '../../src/server/dhcp/attach.js';
import { parseDhcpConfig } from '../../src/server/dhcp/config.js';
import { FullDhcp, ProxyDhcp } from '../../src/server/dhcp/engine.js';
import { discardingStore, warmUp } from '../../src/server/dhcp/warm-up.js';

const SERVER = '10.8.0.1';
const boot = controllerBootPolicy(`http://${SERVER}:5240`);
/** A throwaway full-mode engine over `range`, as attach.ts builds one. */
const fullEngine = (range: [string, string]) =>
  new FullDhcp({
    config: parseDhcpConfig('test.yaml: dhcp', { subnet: '10.8.0.0/16', range, lease_time: 600 }),
    store: discardingStore,
    boot,
  });

describe('DHCP warm-up', () => {
  it('runs every exchange through to an ACK in full mode, direct and relayed', async () => {
    expect(await warmUp(fullEngine(['10.8.1.0', '10.8.200.0']), SERVER, false, 500)).toEqual({
      offers: 500,
      acks: 500,
    });
  });

  it('runs every exchange through to an ACK on 4011 in proxy mode', async () => {
    expect(await warmUp(new ProxyDhcp(boot), SERVER, true, 200)).toEqual({
      offers: 200,
      acks: 200,
    });
  });

  it('ends quietly when a small pool runs out (the rest of the exchanges get no offer)', async () => {
    expect(await warmUp(fullEngine(['10.8.1.0', '10.8.1.3']), SERVER, false, 50)).toEqual({
      offers: 4,
      acks: 4,
    });
  });
});
