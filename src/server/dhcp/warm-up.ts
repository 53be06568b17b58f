// Runs synthetic PXE exchanges through a throwaway handler before the real sockets open.
//
// Why: a fresh Node process runs the packet path unoptimised at first. In a loop without
// sockets the first 1000 exchanges cost 144 µs each, the next 1000 about 50 µs, then
// 26-30 µs. A server (re)started into a boot storm falls behind in that time, queues the
// requests in its 4 MiB socket buffer, and then answers the backlog back to back: a
// burst that overflows the receive queue of the client or relay it goes to. In a
// benchmark run traced before the first warm-up (docs/benchmarks/dhcp.md), every reply
// perfdhcp lost at 8000 DORA/s was lost in the first ~2 s.
//
// The exchanges go over real UDP on loopback, through a throwaway DhcpServer and the
// handler chain the caller built like its live one. Exchanges run in-process only (the
// codec and the engine, no sockets) left node:dgram, DhcpServer and the controller's
// glue cold: with them, V8's compiler threads still took ~40 % of the server's one CPU
// in the first second of load, and the first second's OFFERs waited 11 ms (median)
// instead of 0.4 ms (docs/benchmarks/dhcp.md, run H).
//
// The warm-up's handler must be built exactly like the live one (attach.ts): the same
// classes, the same functions and objects of the same shape, only other data. V8's
// optimised code is specialised on object layouts and call targets; when the warm-up
// used stand-ins (a store that kept nothing, a no-op event sink, its own `isNode`), the
// first live packets threw most of that code away again ("wrong map", "wrong call
// target") and ~110 functions were re-optimised during the first 500 ms of load.
//
// Nothing real is touched: the handler has its own lease table and lease file, and a
// loopback subnet; the throwaway server listens on 127.0.0.1 only (any free port, no
// wildcard socket), so it answers nothing from the network.
import type { Socket } from 'node:dgram';
import { clientPacket } from './client-request.js';
import { parseDhcpConfig, type DhcpConfig, type SubnetConfig } from './config.js';
import { decodePacket, encodePacket, macOf, type DhcpPacket } from './packet.js';
import { MsgType, Opt, ip, messageType, text } from './options.js';
import {
  DhcpServer,
  bindUdp,
  type DhcpHandler,
  type DhcpRequest,
  type DhcpServerOptions,
} from './server.js';

/** Exchanges run: enough for V8 to optimise the hot functions (about 0.3-0.6 s here). */
export const WARM_UP_EXCHANGES = 4000;

const SERVER = '127.0.0.1';
/** The warm-up's relay agent: its own loopback address, on the server's port. */
const RELAY = '127.0.0.2';

/**
 * The subnet a warm-up handler serves: all of loopback, a pool larger than any warm-up.
 * Given the live subnet, it has the same settings (router, DNS, domain, lease time) on
 * loopback addresses, so replies are built along the same paths.
 */
export function warmUpConfig(like?: SubnetConfig): DhcpConfig {
  return parseDhcpConfig('dhcp warm-up', {
    subnet: '127.0.0.0/8',
    range: ['127.1.0.0', '127.1.255.255'],
    ...(like?.router !== undefined && { router: SERVER }),
    ...(like?.dns.length && { dns: like.dns.map(() => SERVER) }),
    ...(like?.domain !== undefined && { domain: like.domain }),
    lease_time: like?.leaseTime ?? 3600,
  });
}

const ARCHES = [0, 7, 16, 11];

/** Client i's PXE request: its own locally administered MAC, never a real one. */
function pxeRequest(
  i: number,
  type: number,
  extra: DhcpPacket['options'],
  over: Partial<DhcpPacket>,
): DhcpPacket {
  const mac = [2, 0, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255];
  const arch = ARCHES[i % ARCHES.length]!;
  const uuid = Buffer.alloc(17);
  uuid.writeUInt32BE(i, 13);
  const vendor =
    arch === 16 ? 'HTTPClient:Arch:00016:UNDI:003016' : `PXEClient:Arch:0000${arch}:UNDI:003016`;
  const options = [
    { code: Opt.CLIENT_ARCH, data: Buffer.from([0, arch]) },
    { code: Opt.CLIENT_NDI, data: Buffer.from([1, 3, 16]) },
    { code: Opt.CLIENT_UUID, data: uuid },
    text(Opt.VENDOR_CLASS, vendor),
    ...extra,
  ];
  // Every fourth one is iPXE already (user class).
  if (i % 4 === 3) options.push({ code: Opt.USER_CLASS, data: Buffer.from('\x04iPXE', 'latin1') });
  return clientPacket(mac, type, options, { xid: i, ...over });
}

/** The REQUEST that answers `offer` (or, in proxy mode, asks the proxy for its boot file). */
function requestFor(i: number, offer: DhcpPacket, serverIp: string, over: Partial<DhcpPacket>) {
  return pxeRequest(
    i,
    MsgType.REQUEST,
    [ip(Opt.REQUESTED_IP, offer.yiaddr), ip(Opt.SERVER_ID, serverIp)],
    over,
  );
}

export interface WarmUpResult {
  offers: number;
  acks: number;
  /** 'in-process' when loopback could not be used. */
  via: 'loopback' | 'in-process';
}

const closeUdp = (s: Socket | undefined): Promise<void> =>
  new Promise((r) => (s ? s.close(() => r()) : r()));

/**
 * Exchanges go in windows of this many clients; a window waits at most WAIT_MS for
 * replies. LANES windows are in flight at once: an ACK waits for its group commit (1 ms
 * of gathering), and one window at a time spent most of the warm-up waiting.
 */
const WINDOW = 32;
const LANES = 4;
const WAIT_MS = 500;

/**
 * Runs `n` DISCOVER/OFFER/REQUEST/ACK exchanges through `handler` over loopback UDP
 * (half direct, half through a relay). `handler` must be a throwaway one that serves
 * warmUpConfig()'s subnet (proxy mode: any ProxyDhcp). Where loopback cannot be bound (a
 * namespace whose `lo` is down) it runs them in-process instead. Returns how many OFFERs
 * and ACKs came back: a warm-up that got no answers warmed nothing.
 */
export async function warmUp(
  handler: DhcpHandler,
  proxy: boolean,
  n = WARM_UP_EXCHANGES,
  onEvent?: DhcpServerOptions['onEvent'],
): Promise<WarmUpResult> {
  let client: Socket | undefined;
  let relay: Socket | undefined;
  let server: DhcpServer | undefined;
  try {
    client = await bindUdp(SERVER, 0);
    server = new DhcpServer({
      serverIp: SERVER,
      handler,
      serverPort: 0,
      clientPort: client.address().port,
      receiveBroadcast: false,
      onEvent,
    });
    await server.start();
    relay = await bindUdp(RELAY, server.serverPort);
  } catch {
    await Promise.all([closeUdp(client), closeUdp(relay), server?.close()]);
    return { ...(await warmUpInProcess(handler, SERVER, proxy, n)), via: 'in-process' };
  }
  try {
    return { ...(await loopbackExchanges(client, relay, server.serverPort, n)), via: 'loopback' };
  } finally {
    await Promise.all([closeUdp(client), closeUdp(relay), server.close()]);
  }
}

async function loopbackExchanges(
  client: Socket,
  relay: Socket,
  port: number,
  n: number,
): Promise<{ offers: number; acks: number }> {
  // Replies by xid (= the client's index) for the window in flight.
  const waiting = new Map<number, (p: DhcpPacket) => void>();
  const onReply = (msg: Buffer): void => {
    let p: DhcpPacket;
    try {
      p = decodePacket(msg);
    } catch {
      return;
    }
    waiting.get(p.xid)?.(p);
  };
  client.on('message', onReply);
  relay.on('message', onReply);
  // Even clients are on the server's own segment (ciaddr makes their replies unicast to
  // the client socket), odd ones behind the relay (giaddr: replies go to its port).
  const via = (i: number): { sock: Socket; over: Partial<DhcpPacket> } =>
    i % 2 === 0
      ? { sock: client, over: { ciaddr: SERVER } }
      : { sock: relay, over: { giaddr: RELAY, hops: 1 } };
  const round = (packets: Map<number, DhcpPacket>): Promise<Map<number, DhcpPacket>> =>
    new Promise((resolve) => {
      const got = new Map<number, DhcpPacket>();
      const done = (): void => {
        clearTimeout(timer);
        for (const i of packets.keys()) waiting.delete(i);
        resolve(got);
      };
      const timer = setTimeout(done, WAIT_MS);
      for (const [i, p] of packets) {
        waiting.set(i, (reply) => {
          waiting.delete(i);
          got.set(i, reply);
          if (got.size === packets.size) done();
        });
        via(i).sock.send(encodePacket(p), port, SERVER);
      }
      if (packets.size === 0) done();
    });
  const got = { offers: 0, acks: 0 };
  const lane = async (first: number): Promise<void> => {
    for (let start = first; start < n; start += LANES * WINDOW) {
      const discovers = new Map<number, DhcpPacket>();
      for (let i = start; i < Math.min(n, start + WINDOW); i++)
        discovers.set(i, pxeRequest(i, MsgType.DISCOVER, [], via(i).over));
      const offers = await round(discovers);
      if (offers.size === 0) break; // pool exhausted, or nothing answers: stop here
      got.offers += offers.size;
      const requests = new Map<number, DhcpPacket>();
      for (const [i, offer] of offers) requests.set(i, requestFor(i, offer, SERVER, via(i).over));
      for (const ack of (await round(requests)).values())
        if (messageType(ack) === MsgType.ACK) got.acks++;
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, k) => lane(k * WINDOW)));
  return got;
}

/** Through the codec both ways, as the socket server does. */
async function exchange(
  handler: DhcpHandler,
  sent: DhcpPacket,
  serverIp: string,
  localPort: number,
): Promise<DhcpPacket | undefined> {
  const packet = decodePacket(encodePacket(sent));
  const req: DhcpRequest = {
    packet,
    type: messageType(packet)!,
    mac: macOf(packet),
    remote: { address: serverIp, port: 67 },
    localPort,
    serverIp,
  };
  const reply = await handler.handle(req);
  if (reply) decodePacket(encodePacket(reply));
  return reply;
}

/**
 * The fallback: `n` exchanges through the codec and `handler` without sockets (proxy
 * mode: DISCOVER/OFFER on 67 and REQUEST/ACK on 4011). `handler` serves `serverIp`'s
 * subnet; every other client comes through a relay at that address. Clients go in
 * windows, as over loopback: an ACK waits for its group commit.
 */
export async function warmUpInProcess(
  handler: DhcpHandler,
  serverIp: string,
  proxy: boolean,
  n = WARM_UP_EXCHANGES,
): Promise<{ offers: number; acks: number }> {
  const got = { offers: 0, acks: 0 };
  const client = async (i: number): Promise<void> => {
    const over = i % 2 === 1 ? { giaddr: serverIp, hops: 1 } : {};
    const offer = await exchange(handler, pxeRequest(i, MsgType.DISCOVER, [], over), serverIp, 67);
    if (!offer) return;
    got.offers++;
    const request = proxy
      ? pxeRequest(i, MsgType.REQUEST, [], over)
      : requestFor(i, offer, serverIp, over);
    const ack = await exchange(handler, request, serverIp, proxy ? 4011 : 67);
    if (ack && messageType(ack) === MsgType.ACK) got.acks++;
  };
  for (let start = 0; start < n; start += WINDOW) {
    const window: Promise<void>[] = [];
    for (let i = start; i < Math.min(n, start + WINDOW); i++) window.push(client(i));
    await Promise.all(window);
  }
  return got;
}
