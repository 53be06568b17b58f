// DHCP socket server. Knows no policy: every decoded request goes to a DhcpHandler, which
// returns the reply packet (or nothing); this file only decides where the reply goes.
//
// Sockets (see ../shared/notes/netboot.md, "Node.js limits for a DHCP server"):
// - rx: 0.0.0.0:67 with SO_REUSEADDR receives broadcasts (Node cannot tell which
//   interface a packet came in on, nor bind to a device);
// - tx: <interface address>:67 with SO_REUSEADDR sends every reply, so replies leave by
//   the serving interface even to 255.255.255.255, and receives unicast (renewals, relays);
// - proxy mode adds <interface address>:4011 (PXE boot server discovery).
// Reply destination (RFC 2131 §4.1): relay (giaddr) -> giaddr:67; NAK or no ciaddr ->
// broadcast :68 (Node cannot inject ARP for unicast to a client without an address, and
// PXE ROMs accept broadcast); otherwise ciaddr:68. On 4011 the reply goes back to the sender.
import dgram, { type Socket } from 'node:dgram';
import { DhcpPacketError, decodePacket, encodePacket, macOf, type DhcpPacket } from './packet.js';
import { MSG_NAMES, messageType } from './options.js';

export interface DhcpRemote {
  address: string;
  port: number;
}

export interface DhcpRequest {
  packet: DhcpPacket;
  /** Option 53 value. */
  type: number;
  /** Lower-case colon MAC from chaddr. */
  mac: string;
  remote: DhcpRemote;
  /** Port the request arrived on (67, or 4011 for PXE boot server requests). */
  localPort: number;
  /** The serving interface's address: server identifier and TFTP next-server. */
  serverIp: string;
}

export interface DhcpHandler {
  handle(req: DhcpRequest): DhcpPacket | undefined | Promise<DhcpPacket | undefined>;
}

export type DhcpServerEvent =
  | { type: 'listening'; address: string; port: number }
  | { type: 'bad-packet'; remote: DhcpRemote; field: string; problem: string }
  | { type: 'reply'; mac: string; request: string; reply: string; to: DhcpRemote }
  | { type: 'error'; error: string };

export interface DhcpServerOptions {
  serverIp: string;
  handler: DhcpHandler;
  /** Also listen on serverIp:4011 (proxy mode). */
  pxePort?: boolean;
  /** Test/benchmark override of 67/68; serverPort 0 takes any free port for both sockets. */
  serverPort?: number;
  clientPort?: number;
  /**
   * Also bind 0.0.0.0:serverPort, where broadcasts arrive (default). The warm-up's
   * loopback server does without: it must answer nothing from the network.
   */
  receiveBroadcast?: boolean;
  onEvent?: (e: DhcpServerEvent) => void;
}

const ZERO = '0.0.0.0';
const BROADCAST = '255.255.255.255';

export function replyDestination(
  req: DhcpPacket,
  reply: DhcpPacket,
  remote: DhcpRemote,
  localPort: number,
  ports: { server: number; client: number },
): DhcpRemote {
  if (localPort === 4011) return remote;
  if (req.giaddr !== ZERO) return { address: req.giaddr, port: ports.server };
  const isNak = messageType(reply) === 6;
  if (isNak || req.ciaddr === ZERO) return { address: BROADCAST, port: ports.client };
  return { address: req.ciaddr, port: ports.client };
}

/**
 * A UDP socket bound to address:port (0: any free port) with SO_REUSEADDR, which a DHCP
 * server needs beside another socket on the same port; a bind error rejects.
 */
export function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', reject);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export class DhcpServer {
  private readonly sockets: Socket[] = [];
  private tx: Socket | undefined;
  /** serverIp:4011 in proxy mode. */
  private pxe: Socket | undefined;
  private readonly emit: (e: DhcpServerEvent) => void;
  private readonly ports: { server: number; client: number };
  /** Replies in flight (handlers awaiting a lease write); close() waits for them. */
  private inflight = 0;
  /** One send callback for all replies (the error names the destination). */
  private readonly sent = (err: Error | null): void => {
    if (err) this.emit({ type: 'error', error: `send: ${err.message}` });
  };

  private readonly o: DhcpServerOptions;

  constructor(opts: DhcpServerOptions) {
    // One shape for every server's options (the warm-up's and the live one), so the
    // packet path compiled during the warm-up meets the same object layout live.
    this.o = {
      serverIp: opts.serverIp,
      handler: opts.handler,
      pxePort: opts.pxePort,
      serverPort: opts.serverPort,
      clientPort: opts.clientPort,
      receiveBroadcast: opts.receiveBroadcast,
      onEvent: opts.onEvent,
    };
    this.emit = opts.onEvent ?? (() => {});
    this.ports = { server: opts.serverPort ?? 67, client: opts.clientPort ?? 68 };
  }

  private async bind(address: string, port: number): Promise<Socket> {
    const s = await bindUdp(address, port);
    s.on('error', (e) => this.emit({ type: 'error', error: e.message }));
    const local = s.address().port;
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo, local));
    this.emit({ type: 'listening', address, port: local });
    return s;
  }

  /** The port requests are received on (the bound one, when serverPort was 0). */
  get serverPort(): number {
    return this.ports.server;
  }

  async start(): Promise<void> {
    try {
      this.tx = await this.bind(this.o.serverIp, this.ports.server);
      this.tx.setBroadcast(true);
      this.sockets.push(this.tx);
      // Port 0: relayed replies go to the relay's server port, so it must be the real one.
      if (this.ports.server === 0) this.ports.server = this.tx.address().port;
      if (this.o.receiveBroadcast ?? true)
        this.sockets.push(await this.bind(ZERO, this.ports.server));
      if (this.o.pxePort) {
        this.pxe = await this.bind(this.o.serverIp, 4011);
        this.sockets.push(this.pxe);
      }
      for (const s of this.sockets) s.setRecvBufferSize(4 * 1024 * 1024);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo, localPort: number): void {
    const remote = { address: rinfo.address, port: rinfo.port };
    let packet: DhcpPacket;
    let type: number | undefined;
    try {
      packet = decodePacket(msg);
      if (packet.op !== 1) return; // replies from other servers
      type = messageType(packet);
      if (type === undefined)
        throw new DhcpPacketError('option 53', 'missing (plain BOOTP is not served)');
    } catch (e) {
      if (e instanceof DhcpPacketError)
        this.emit({ type: 'bad-packet', remote, field: e.field, problem: e.problem });
      else this.emit({ type: 'error', error: String(e) });
      return;
    }
    const req: DhcpRequest = {
      packet,
      type,
      mac: macOf(packet),
      remote,
      localPort,
      serverIp: this.o.serverIp,
    };
    // Synchronous answers (OFFERs, proxy replies) go out at once; only a reply that waits
    // for its lease write costs promises. A handler that throws is treated like one that
    // rejects (a packet that decodes but has a malformed option value lands there too).
    let out: ReturnType<DhcpHandler['handle']>;
    try {
      out = this.o.handler.handle(req);
    } catch (e) {
      this.failed(e, remote);
      return;
    }
    if (!(out instanceof Promise)) {
      if (out) this.send(req, out);
      return;
    }
    this.inflight++;
    out.then(
      (reply) => {
        this.inflight--;
        if (reply) this.send(req, reply);
      },
      (e: unknown) => {
        this.inflight--;
        this.failed(e, remote);
      },
    );
  }

  private failed(e: unknown, remote: DhcpRemote): void {
    if (e instanceof DhcpPacketError)
      this.emit({ type: 'bad-packet', remote, field: e.field, problem: e.problem });
    else this.emit({ type: 'error', error: String(e) });
  }

  private send(req: DhcpRequest, reply: DhcpPacket): void {
    const to = replyDestination(req.packet, reply, req.remote, req.localPort, this.ports);
    const sock = req.localPort === 4011 ? this.pxe : this.tx;
    if (!sock) return;
    let bytes: Buffer;
    try {
      bytes = encodePacket(reply);
    } catch (e) {
      this.failed(e, req.remote);
      return;
    }
    sock.send(bytes, to.port, to.address, this.sent);
    this.emit({
      type: 'reply',
      mac: req.mac,
      request: MSG_NAMES[req.type] ?? String(req.type),
      reply: MSG_NAMES[messageType(reply) ?? 0] ?? '?',
      to,
    });
  }

  async close(): Promise<void> {
    for (let i = 0; i < 100 && this.inflight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}
