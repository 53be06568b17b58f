// The TFTP server: listens for requests on one or more addresses (IPv4 and/or IPv6) and
// runs each read on its own ephemeral, connected socket. It knows no policy: every name
// goes to the TftpHandler, which answers with a source or a TFTP error. Read-only: write
// requests are refused with "access violation".
import dgram, { type Socket } from 'node:dgram';
import net from 'node:net';
import type { TftpHandler, TftpRemote, TftpSource } from './handler.js';
import { AckPoller } from './ack-poller.js';
import { netasciiSource } from './netascii.js';
import { DEFAULT_LIMITS, negotiate, type TftpLimits } from './options.js';
import { ErrorCode, Opcode, PacketError, decodePacket, errorPacket } from './packet.js';
import { ReadTransfer, type TransferResult } from './transfer.js';

export interface TftpListen {
  address: string;
  port: number;
}

/**
 * Spin budget per window (ack-poller.ts): a lock-step round trip between namespaces on
 * this 2-vCPU VM took ~50 µs with it and ~100 µs without; a slow client costs at most
 * this much CPU per window.
 */
const DEFAULT_ACK_POLL_US = 100;

export interface TftpServerOptions {
  listen: TftpListen[];
  limits?: Partial<TftpLimits>;
  /** Silent retransmission rounds before a transfer is abandoned. */
  maxRetries?: number;
  /** Concurrent transfers; more get "server busy" (error 0). */
  maxTransfers?: number;
  /** Busy-poll this long for each window's ACK (ack-poller.ts); 0: off. [100] */
  ackPollUs?: number;
  onEvent?: (event: TftpEvent) => void;
}

export type TftpEvent =
  | { type: 'listening'; address: string; port: number }
  | { type: 'bad-packet'; remote: TftpRemote; field: string; problem: string }
  | { type: 'refused'; remote: TftpRemote; filename: string; code: number; message: string }
  | {
      type: 'transfer-end';
      remote: TftpRemote;
      filename: string;
      blksize: number;
      windowsize: number;
      ms: number;
      result: TransferResult;
    };

function remoteOf(rinfo: dgram.RemoteInfo): TftpRemote {
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; handlers see plain IPv4.
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(rinfo.address);
  if (m?.[1]) return { address: m[1], port: rinfo.port, family: 'IPv4' };
  return {
    address: rinfo.address,
    port: rinfo.port,
    family: net.isIPv6(rinfo.address) ? 'IPv6' : 'IPv4',
  };
}

function isWildcard(a: string): boolean {
  return a === '0.0.0.0' || a === '::';
}

interface Listener {
  socket: Socket;
  address: string;
  type: 'udp4' | 'udp6';
}

export class TftpServer {
  private readonly limits: TftpLimits;
  private readonly maxRetries: number;
  private readonly maxTransfers: number;
  private readonly poller: AckPoller;
  private readonly listeners: Listener[] = [];
  /** Active transfers by client address+port: a retransmitted RRQ must not start a second one. */
  private readonly active = new Map<string, ReadTransfer | null>();
  private closed = false;

  constructor(
    private readonly handler: TftpHandler,
    private readonly opts: TftpServerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.maxRetries = opts.maxRetries ?? 5;
    this.maxTransfers = opts.maxTransfers ?? 2000;
    this.poller = new AckPoller(opts.ackPollUs ?? DEFAULT_ACK_POLL_US);
  }

  get activeTransfers(): number {
    return this.active.size;
  }

  /** Bound addresses (useful with port 0). */
  addresses(): TftpListen[] {
    return this.listeners.map((l) => {
      const a = l.socket.address();
      return { address: a.address, port: a.port };
    });
  }

  async start(): Promise<void> {
    try {
      for (const l of this.opts.listen) await this.bindOne(l);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async bindOne(l: TftpListen): Promise<void> {
    const type = net.isIPv6(l.address) ? 'udp6' : 'udp4';
    // '::' is dual-stack so one socket serves IPv4 and IPv6 clients.
    const socket = dgram.createSocket({ type, ipv6Only: false, reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: l.address, port: l.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      // Boot storms arrive as bursts of RRQs; a bigger queue avoids drops.
      socket.setRecvBufferSize(1 << 20);
    } catch {
      // capped by net.core.rmem_max; the default still works
    }
    socket.on('error', () => {}); // ICMP errors on the listening socket are not fatal
    socket.on('message', (msg, rinfo) => this.onRequest(socket, type, l.address, msg, rinfo));
    this.listeners.push({ socket, address: l.address, type });
    const a = socket.address();
    this.opts.onEvent?.({ type: 'listening', address: a.address, port: a.port });
  }

  private emit(e: TftpEvent): void {
    this.opts.onEvent?.(e);
  }

  private onRequest(
    socket: Socket,
    type: 'udp4' | 'udp6',
    localAddress: string,
    msg: Buffer,
    rinfo: dgram.RemoteInfo,
  ): void {
    const remote = remoteOf(rinfo);
    const reply = (code: number, message: string) => {
      try {
        socket.send(errorPacket(code, message), rinfo.port, rinfo.address);
      } catch {
        // the listening socket closed meanwhile (server stopping): nothing to tell
      }
    };
    let packet;
    try {
      packet = decodePacket(msg);
    } catch (e) {
      if (!(e instanceof PacketError)) throw e;
      this.emit({ type: 'bad-packet', remote, field: e.field, problem: e.message });
      // Never answer an ERROR with an ERROR (two servers could ping-pong forever).
      if (msg.length < 2 || msg.readUInt16BE(0) !== Opcode.ERROR) {
        reply(ErrorCode.ILLEGAL_OPERATION, `malformed packet: ${e.message}`);
      }
      return;
    }
    if (packet.op === Opcode.ERROR) return;
    if (packet.op === Opcode.WRQ) {
      this.emit({ type: 'refused', remote, filename: packet.filename, code: 2, message: 'write' });
      reply(ErrorCode.ACCESS_VIOLATION, 'read-only server: writes are refused');
      return;
    }
    if (packet.op !== Opcode.RRQ) {
      reply(ErrorCode.UNKNOWN_TID, 'no transfer on this port; send a read request');
      return;
    }
    const key = `${rinfo.address}|${rinfo.port}`;
    if (this.active.has(key)) return; // retransmitted RRQ: the transfer already answers it
    if (this.active.size >= this.maxTransfers) {
      reply(ErrorCode.NOT_DEFINED, 'server busy, try again');
      return;
    }
    this.active.set(key, null);
    const request = { filename: packet.filename, mode: packet.mode, options: packet.options };
    void this.serve(type, localAddress, rinfo, remote, request)
      .catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        this.emit({ type: 'refused', remote, filename: packet.filename, code: 0, message });
        reply(ErrorCode.NOT_DEFINED, 'internal error');
      })
      .finally(() => this.active.delete(key));
  }

  private async serve(
    type: 'udp4' | 'udp6',
    localAddress: string,
    rinfo: dgram.RemoteInfo,
    remote: TftpRemote,
    req: { filename: string; mode: 'octet' | 'netascii'; options: Map<string, string> },
  ): Promise<void> {
    const resolved = await this.handler.resolve({ filename: req.filename, remote });
    if (this.closed) {
      if ('source' in resolved) await resolved.source.close();
      return;
    }
    const main = this.listeners.find((l) => l.address === localAddress)?.socket;
    if ('error' in resolved) {
      this.emit({ type: 'refused', remote, filename: req.filename, ...resolved.error });
      try {
        main?.send(
          errorPacket(resolved.error.code, resolved.error.message),
          rinfo.port,
          rinfo.address,
        );
      } catch {
        // server stopping
      }
      return;
    }
    let source: TftpSource = resolved.source;
    if (req.mode === 'netascii') source = await netasciiSource(source);
    // maxBlksize is the IPv4 figure; an IPv6 header is 20 bytes bigger.
    const limits =
      remote.family === 'IPv6'
        ? { ...this.limits, maxBlksize: Math.max(512, this.limits.maxBlksize - 20) }
        : this.limits;
    const n = negotiate(req.options, source.size, limits);
    let socket: Socket;
    try {
      socket = await this.transferSocket(type, localAddress, rinfo);
    } catch (e) {
      await source.close();
      throw e;
    }
    const t = new ReadTransfer(socket, source, {
      blksize: n.blksize,
      windowsize: n.windowsize,
      timeoutMs: n.timeoutMs,
      maxRetries: this.maxRetries,
      oack: n.oack,
      poller: this.poller,
    });
    const key = `${rinfo.address}|${rinfo.port}`;
    this.active.set(key, t);
    const started = Date.now();
    t.start();
    const result = await t.done;
    this.emit({
      type: 'transfer-end',
      remote,
      filename: req.filename,
      blksize: n.blksize,
      windowsize: n.windowsize,
      ms: Date.now() - started,
      result,
    });
  }

  /** A new socket on the same local address, port chosen by the kernel, connected to the client. */
  private async transferSocket(
    type: 'udp4' | 'udp6',
    localAddress: string,
    rinfo: dgram.RemoteInfo,
  ): Promise<Socket> {
    const socket = dgram.createSocket({ type, ipv6Only: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: isWildcard(localAddress) ? undefined : localAddress, port: 0 }, () =>
        socket.connect(rinfo.port, rinfo.address, () => {
          socket.off('error', reject);
          resolve();
        }),
      );
    }).catch((e: unknown) => {
      socket.close();
      throw e;
    });
    return socket;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.active.values()) t?.abort('server stopping');
    await Promise.all(
      this.listeners.splice(0).map((l) => new Promise<void>((r) => l.socket.close(() => r()))),
    );
  }
}
