// The start-up warm-up (src/server/dhcp/warm-up.ts) must really run the packet path: a
// warm-up whose synthetic packets were all ignored would compile nothing. Over loopback
// it must go through real sockets (direct and relayed) and answer nothing else. That it
// leaves nothing behind shows end to end: 4000 warm-up leases in the real table would
// exhaust the 100-address pool the namespace tests (dhcp-clients.test.ts) lease from.
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { controllerBootPolicy } from '../../src/server/dhcp/attach.js';
import { parseDhcpConfig } from '../../src/server/dhcp/config.js';
import { FullDhcp, ProxyDhcp } from '../../src/server/dhcp/engine.js';
import { DhcpServer, type DhcpHandler, type DhcpRequest } from '../../src/server/dhcp/server.js';
import { clientPacket } from '../../src/server/dhcp/client-request.js';
import { MsgType } from '../../src/server/dhcp/options.js';
import { encodePacket } from '../../src/server/dhcp/packet.js';
import type { LeaseStore } from '../../src/server/dhcp/lease-db.js';
import { warmUp, warmUpConfig, warmUpInProcess } from '../../src/server/dhcp/warm-up.js';

/** A LeaseStore that keeps nothing. */
const discardingStore: LeaseStore = {
  loadAll: () => [],
  put: () => Promise.resolve(),
  remove: () => Promise.resolve(),
  close: () => {},
};

const SERVER = '10.8.0.1';
const boot = controllerBootPolicy(`http://${SERVER}:5240`);
/** A throwaway full-mode engine, as attach.ts builds one. */
const loopbackEngine = () => new FullDhcp({ config: warmUpConfig(), store: discardingStore, boot });
const fullEngine = (range: [string, string]) =>
  new FullDhcp({
    config: parseDhcpConfig('test.yaml: dhcp', { subnet: '10.8.0.0/16', range, lease_time: 600 }),
    store: discardingStore,
    boot,
  });

/** Records where each request came from, then hands it on. */
function recording(inner: DhcpHandler, seen: DhcpRequest[]): DhcpHandler {
  return {
    handle(req) {
      seen.push(req);
      return inner.handle(req);
    },
  };
}

describe('DHCP warm-up over loopback', () => {
  it('runs every exchange through real sockets to an ACK, half direct and half relayed', async () => {
    const seen: DhcpRequest[] = [];
    expect(await warmUp(recording(loopbackEngine(), seen), false, 300)).toEqual({
      offers: 300,
      acks: 300,
      via: 'loopback',
    });
    expect(seen).toHaveLength(600);
    // Requests came in over UDP, from the client socket and from the relay at 127.0.0.2.
    expect(new Set(seen.map((r) => r.remote.address))).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
    expect(seen.filter((r) => r.packet.giaddr === '127.0.0.2')).toHaveLength(300);
    expect(seen.every((r) => r.localPort > 1024 && r.serverIp === '127.0.0.1')).toBe(true);
  });

  it('runs proxy mode to an ACK for every client', async () => {
    expect(await warmUp(new ProxyDhcp(boot), true, 100)).toEqual({
      offers: 100,
      acks: 100,
      via: 'loopback',
    });
  });

  it('stops when the pool runs out instead of waiting out every exchange', async () => {
    const small = new FullDhcp({
      config: parseDhcpConfig('t', {
        subnet: '127.0.0.0/8',
        range: ['127.1.0.0', '127.1.0.3'],
        lease_time: 60,
      }),
      store: discardingStore,
      boot,
    });
    expect(await warmUp(small, false, 4000)).toEqual({ offers: 4, acks: 4, via: 'loopback' });
  });

  it("the warm-up's kind of server (receiveBroadcast: false) hears only what is sent to its address", async () => {
    // 127.0.0.3 reaches a socket bound to 0.0.0.0, not one bound to 127.0.0.1: the
    // wildcard socket is the one that would hear the network's broadcasts.
    const heard = async (receiveBroadcast: boolean): Promise<number> => {
      const seen: DhcpRequest[] = [];
      const server = new DhcpServer({
        serverIp: '127.0.0.1',
        handler: recording({ handle: () => undefined }, seen),
        serverPort: 0,
        clientPort: 9,
        receiveBroadcast,
      });
      await server.start();
      const s = dgram.createSocket('udp4');
      const discover = encodePacket(clientPacket('02:00:00:00:00:01', MsgType.DISCOVER));
      for (const to of ['127.0.0.1', '127.0.0.3'])
        await new Promise<void>((r) => s.send(discover, server.serverPort, to, () => r()));
      await new Promise((r) => setTimeout(r, 200));
      s.close();
      await server.close();
      return seen.length;
    };
    // One DISCOVER to 127.0.0.1 and one to 127.0.0.3.
    expect(await heard(false)).toBe(1);
    expect(await heard(true)).toBe(2);
  });
});

describe('the warm-up subnet', () => {
  it("has the live subnet's settings on loopback, so replies are built the same way", () => {
    const live = parseDhcpConfig('t', {
      subnet: '10.8.0.0/16',
      range: ['10.8.1.0', '10.8.1.9'],
      router: '10.8.0.1',
      dns: ['10.8.0.1', '10.8.0.2'],
      domain: 'lab',
      lease_time: 600,
    }).subnets[0]!;
    expect(warmUpConfig(live).subnets[0]).toMatchObject({
      router: '127.0.0.1',
      dns: ['127.0.0.1', '127.0.0.1'],
      domain: 'lab',
      leaseTime: 600,
    });
    const bare = parseDhcpConfig('t', { subnet: '10.8.0.0/16', range: ['10.8.1.0', '10.8.1.9'] });
    expect(warmUpConfig(bare.subnets[0]).subnets[0]).toMatchObject({
      router: undefined,
      dns: [],
      domain: undefined,
      leaseTime: 3600,
    });
  });
});

describe('DHCP warm-up in-process (where loopback cannot be bound)', () => {
  it('runs every exchange through to an ACK in full mode, direct and relayed', async () => {
    expect(
      await warmUpInProcess(fullEngine(['10.8.1.0', '10.8.200.0']), SERVER, false, 500),
    ).toEqual({ offers: 500, acks: 500 });
  });

  it('runs every exchange through to an ACK on 4011 in proxy mode', async () => {
    expect(await warmUpInProcess(new ProxyDhcp(boot), SERVER, true, 200)).toEqual({
      offers: 200,
      acks: 200,
    });
  });

  it('ends quietly when a small pool runs out (the rest of the exchanges get no offer)', async () => {
    expect(await warmUpInProcess(fullEngine(['10.8.1.0', '10.8.1.3']), SERVER, false, 50)).toEqual({
      offers: 4,
      acks: 4,
    });
  });
});
