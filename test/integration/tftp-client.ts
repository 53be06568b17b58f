// A small TFTP client for tests: raw packet exchange (malformed-packet and protocol
// tests) and a full read with options (the 200-concurrent-transfers test, where 200 curl
// processes would mostly measure process start-up on two cores).
import dgram from 'node:dgram';
import net from 'node:net';
import { Opcode, decodePacket, encodePacket, type Packet } from '../../src/server/tftp/packet.js';

export interface Reply {
  packet: Packet;
  port: number;
}

/** A client socket that collects every packet it receives. */
export class RawClient {
  readonly socket: dgram.Socket;
  private readonly queue: Reply[] = [];
  private waiter: (() => void) | null = null;

  private constructor(family: 'udp4' | 'udp6') {
    this.socket = dgram.createSocket(family);
    this.socket.on('message', (msg, rinfo) => {
      try {
        this.queue.push({ packet: decodePacket(msg), port: rinfo.port });
      } catch {
        // a test asserting on replies would see nothing; keep going
      }
      this.waiter?.();
    });
  }

  static async open(host: string): Promise<RawClient> {
    const c = new RawClient(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((r) => c.socket.bind(0, r));
    return c;
  }

  send(buf: Buffer, port: number, host: string): void {
    this.socket.send(buf, port, host);
  }

  /** Next packet, or undefined after `ms` of silence. */
  async next(ms = 5000): Promise<Reply | undefined> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift();
  }

  /** Every packet received within `ms`. */
  async drain(ms: number): Promise<Reply[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  close(): void {
    this.socket.close();
  }
}

export type ReadResult =
  | { data: Buffer; oack: Map<string, string> | undefined }
  | { error: { code: number; message: string } };

/** Reads a whole file: RRQ, optional OACK, windowed DATA with block-number rollover. */
export async function tftpRead(
  host: string,
  port: number,
  filename: string,
  options: Record<string, string> = {},
): Promise<ReadResult> {
  const c = await RawClient.open(host);
  try {
    const opts = new Map(Object.entries(options));
    c.send(encodePacket({ op: Opcode.RRQ, filename, mode: 'octet', options: opts }), port, host);
    let blksize = 512;
    let window = 1;
    let oack: Map<string, string> | undefined;
    let expected = 1;
    let inWindow = 0;
    const parts: Buffer[] = [];
    for (;;) {
      const r = await c.next(10_000);
      if (!r) throw new Error(`timed out waiting for block ${expected}`);
      const p = r.packet;
      const ack = (block: number) =>
        c.send(encodePacket({ op: Opcode.ACK, block: block & 0xffff }), r.port, host);
      if (p.op === Opcode.ERROR) return { error: { code: p.code, message: p.message } };
      if (p.op === Opcode.OACK) {
        oack = p.options;
        blksize = Number(p.options.get('blksize') ?? 512);
        window = Number(p.options.get('windowsize') ?? 1);
        ack(0);
        continue;
      }
      if (p.op !== Opcode.DATA) throw new Error(`unexpected opcode ${p.op}`);
      if (p.block !== (expected & 0xffff)) {
        ack(expected - 1); // out of order: tell the server where we are
        inWindow = 0;
        continue;
      }
      parts.push(Buffer.from(p.data));
      inWindow++;
      const last = p.data.length < blksize;
      if (last || inWindow === window) {
        ack(expected);
        inWindow = 0;
      }
      if (last) return { data: Buffer.concat(parts), oack };
      expected++;
    }
  } finally {
    c.close();
  }
}
