// Runs synthetic PXE exchanges through a throwaway handler before the sockets open.
//
// Why: a fresh Node process runs the packet path unoptimised at first. In a loop without
// sockets the first 1000 exchanges cost 144 µs each, the next 1000 about 50 µs, then
// 26-30 µs. A server (re)started into a boot storm falls behind in that time, queues the
// requests in its 4 MiB socket buffer, and then answers the backlog back to back: a
// burst that overflows the receive queue of the client or relay it goes to. In a
// benchmark run traced before this change (docs/benchmarks/dhcp.md), every reply
// perfdhcp lost at 8000 DORA/s was lost in the first ~2 s. Compiling the codec and the
// engine first shortens that phase; the socket path and the lease worker stay cold.
//
// The throwaway handler has its own lease table and an in-memory store: nothing real is
// read or written, no event is reported.
import { clientPacket } from './client-request.js';
import type { LeaseRow, LeaseStore } from './lease-db.js';
import { decodePacket, encodePacket, macOf, type DhcpPacket } from './packet.js';
import { MsgType, Opt, ip, messageType, text } from './options.js';
import type { DhcpHandler, DhcpRequest } from './server.js';

/** Exchanges run: enough for V8 to optimise the hot functions (about 0.2-0.4 s here). */
export const WARM_UP_EXCHANGES = 4000;

/** A LeaseStore that keeps nothing: the warm-up handler's. */
export const discardingStore: LeaseStore = {
  loadAll: (): LeaseRow[] => [],
  put: () => Promise.resolve(),
  remove: () => Promise.resolve(),
  close: () => {},
};

// Firmware kinds (option 93) the boot policy branches on: BIOS, UEFI x64, UEFI HTTP, arm64.
const ARCHES = [0, 7, 16, 11];

/** Client i's PXE request: its own locally administered MAC, never a real one. */
function pxeRequest(
  i: number,
  type: number,
  serverIp: string,
  extra: DhcpPacket['options'],
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
  // Every fourth one is iPXE already (user class), every other one comes through a relay.
  if (i % 4 === 3) options.push({ code: Opt.USER_CLASS, data: Buffer.from('\x04iPXE', 'latin1') });
  const relayed = i % 2 === 1;
  return clientPacket(mac, type, options, {
    xid: i,
    hops: relayed ? 1 : 0,
    giaddr: relayed ? serverIp : '0.0.0.0',
  });
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
 * Runs `n` DISCOVER/OFFER/REQUEST/ACK exchanges (proxy mode: DISCOVER/OFFER on 67 and
 * REQUEST/ACK on 4011) through `handler`, which must be a throwaway one. Returns how many
 * OFFERs and ACKs came back: a warm-up that got no answers warmed nothing.
 */
export async function warmUp(
  handler: DhcpHandler,
  serverIp: string,
  proxy: boolean,
  n = WARM_UP_EXCHANGES,
): Promise<{ offers: number; acks: number }> {
  const got = { offers: 0, acks: 0 };
  for (let i = 0; i < n; i++) {
    const discover = pxeRequest(i, MsgType.DISCOVER, serverIp, []);
    const offer = await exchange(handler, discover, serverIp, 67);
    if (!offer) continue;
    got.offers++;
    const request = proxy
      ? pxeRequest(i, MsgType.REQUEST, serverIp, [])
      : pxeRequest(i, MsgType.REQUEST, serverIp, [
          ip(Opt.REQUESTED_IP, offer.yiaddr),
          ip(Opt.SERVER_ID, serverIp),
        ]);
    const ack = await exchange(handler, request, serverIp, proxy ? 4011 : 67);
    if (ack && messageType(ack) === MsgType.ACK) got.acks++;
  }
  return got;
}
