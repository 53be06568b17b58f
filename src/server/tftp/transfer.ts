// One read transfer on its own connected UDP socket (the server's TID for this client).
//
// Sending follows RFC 7440: a window of W blocks, then wait for the ACK of the last one.
// ACK numbers are 16-bit and roll over to 0 after 65535 (what curl, tftp-hpa and atftp
// expect for files > 32 MiB at 512 bytes); the transfer keeps absolute block numbers and
// maps each ACK onto the window it can belong to.
//
// Sorcerer's Apprentice safety (RFC 1123 4.2.3.1): a duplicate ACK (one we already acted
// on) never triggers a retransmission; only our own timer does. An ACK inside the window
// that is not its end means the client lost something: we go back to the block after it.
// Retransmission uses exponential backoff from the negotiated timeout and gives up after
// `maxRetries` silent rounds.
import type { Socket } from 'node:dgram';
import type { TftpSource } from './handler.js';
import type { AckPoller } from './ack-poller.js';
import { BlockReader } from './block-reader.js';
import { ErrorCode, Opcode, encodePacket, errorPacket } from './packet.js';

export interface TransferParams {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  maxRetries: number;
  /** OACK options; empty means none are acknowledged and DATA 1 goes first. */
  oack: Map<string, string>;
  /** Told after each window, to keep the event loop awake until the ACK (ack-poller.ts). */
  poller?: AckPoller;
}

export interface TransferResult {
  ok: boolean;
  bytes: number;
  blocks: number;
  retransmits: number;
  error?: string;
}

/** Longest single wait, however many retries: firmware gives up long before. */
const MAX_BACKOFF_MS = 16_000;

export class ReadTransfer {
  private readonly reader: BlockReader;
  private readonly total: number;
  private lastAcked = 0;
  /** Highest block sent so far (absolute). */
  private sentTo = 0;
  private retries = 0;
  private retransmits = 0;
  private waitingOack: boolean;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private pumping = false;
  private finished = false;
  readonly done: Promise<TransferResult>;
  private resolveDone!: (r: TransferResult) => void;

  constructor(
    private readonly socket: Socket,
    private readonly source: TftpSource,
    private readonly p: TransferParams,
  ) {
    this.reader = new BlockReader(source, p.blksize, p.windowsize);
    this.total = this.reader.totalBlocks;
    this.waitingOack = p.oack.size > 0;
    this.done = new Promise((r) => (this.resolveDone = r));
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (e) => this.finish({ ok: false, error: `socket: ${e.message}` }));
  }

  start(): void {
    if (!this.waitingOack) {
      this.pump();
      return;
    }
    this.sendOack();
    // Read the first window while the client answers the OACK; a failure is kept by the
    // reader and reported when the ACK arrives.
    this.reader.ensure(1, Math.min(this.total, this.p.windowsize))?.catch(() => {});
  }

  private sendOack(): void {
    this.socket.send(encodePacket({ op: Opcode.OACK, options: this.p.oack }));
    this.arm();
  }

  private onMessage(msg: Buffer): void {
    if (this.finished || msg.length < 4) return;
    const op = msg.readUInt16BE(0);
    if (op === Opcode.ACK) {
      this.onAck(msg.readUInt16BE(2));
    } else if (op === Opcode.ERROR) {
      // Clients abort with ERROR (e.g. 8 when they dislike the OACK): stop quietly.
      const code = msg.readUInt16BE(2);
      this.finish({ ok: false, error: `client sent error ${code}` });
    } else {
      this.socket.send(errorPacket(ErrorCode.ILLEGAL_OPERATION, 'expected ACK'));
      this.finish({ ok: false, error: `unexpected opcode ${op} from client` });
    }
  }

  private onAck(wire: number): void {
    if (this.waitingOack) {
      if (wire !== 0) return;
      this.waitingOack = false;
      this.retries = 0;
      this.pump();
      return;
    }
    // Map the 16-bit number onto (lastAcked, sentTo]; anything else is old or bogus.
    const delta = (wire - (this.lastAcked & 0xffff)) & 0xffff;
    if (delta === 0 || delta > this.sentTo - this.lastAcked) return;
    this.lastAcked += delta;
    this.retries = 0;
    if (this.lastAcked >= this.total) {
      this.finish({ ok: true });
      return;
    }
    // Mid-window ACK: the client saw a gap; resend from the block after it.
    if (this.lastAcked < this.sentTo) this.retransmits += this.sentTo - this.lastAcked;
    this.pump();
  }

  /** Sends the window starting after lastAcked, reading blocks first if needed. */
  private pump(): void {
    // A read is in flight: when it lands, pump() runs again from the latest lastAcked.
    if (this.pumping) return;
    const from = this.lastAcked + 1;
    const to = Math.min(this.total, this.lastAcked + this.p.windowsize);
    const wait = this.reader.ensure(from, to);
    if (!wait) {
      this.sendRange(from, to);
      return;
    }
    this.pumping = true;
    wait.then(
      () => {
        this.pumping = false;
        if (this.finished) return;
        this.pump();
      },
      (e: unknown) => {
        this.pumping = false;
        if (this.finished) return;
        const why = e instanceof Error ? e.message : String(e);
        this.socket.send(errorPacket(ErrorCode.NOT_DEFINED, 'read error'));
        this.finish({ ok: false, error: `read: ${why}` });
      },
    );
  }

  private sendRange(from: number, to: number): void {
    for (let b = from; b <= to; b++) this.socket.send(this.reader.packet(b));
    this.p.poller?.windowSent();
    if (to > this.sentTo) this.sentTo = to;
    // Everything below runs while the window is on its way: none of it delays the DATA.
    this.arm();
    this.reader.readAhead(from, to);
  }

  private arm(): void {
    const ms = Math.min(MAX_BACKOFF_MS, this.p.timeoutMs * 2 ** this.retries);
    if (this.timer && ms === this.timerMs) {
      this.timer.refresh(); // cheap: no new timer per window
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(() => this.onTimeout(), ms);
  }

  private onTimeout(): void {
    if (this.finished) return;
    if (this.retries >= this.p.maxRetries) {
      this.socket.send(errorPacket(ErrorCode.NOT_DEFINED, 'timed out'));
      this.finish({ ok: false, error: `no ACK after ${this.retries} retransmissions` });
      return;
    }
    this.retries++;
    if (this.waitingOack) {
      this.retransmits++;
      this.sendOack();
      return;
    }
    this.retransmits += Math.min(this.total, this.lastAcked + this.p.windowsize) - this.lastAcked;
    this.pump();
  }

  /** Stops the transfer (server shutdown or error); idempotent. */
  abort(reason: string): void {
    this.finish({ ok: false, error: reason });
  }

  private finish(r: { ok: boolean; error?: string }): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    void this.source.close().catch(() => {});
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    this.resolveDone({
      ok: r.ok,
      bytes: Math.min(this.lastAcked * this.p.blksize, this.source.size),
      blocks: this.lastAcked,
      retransmits: this.retransmits,
      ...(r.error ? { error: r.error } : {}),
    });
  }
}
