// Turns a TftpSource into ready-to-send DATA packets, without per-packet allocation.
//
// The file is read in chunks of C blocks into two preallocated buffers laid out as
// [4-byte header | blksize data] * C, with one readv per chunk straight into the data
// slots; the headers are written in place, so a DATA packet is a view of the buffer and
// goes to socket.send as is. The views (readv targets and packets) are made once per
// buffer, not per chunk: a chunk only rewrites the block numbers. C is a multiple of the window W, so a window normally lies in
// one chunk (after a loss it may span two consecutive ones), which is why two buffers
// suffice: while the client acknowledges chunk c, chunk c+1 is being read ahead.
//
// Read-ahead is a separate call the transfer makes *after* sending a window: starting a
// read costs a few microseconds of JS and wakes a threadpool thread on the same CPU, and
// none of that should sit between an ACK and the DATA it releases.
import type { TftpSource } from './handler.js';

interface Chunk {
  index: number;
  /** Packet views, one per block in the chunk (the last one may be short). */
  packets: readonly Buffer[];
  ready: Promise<void> | null;
  loaded: boolean;
}

/** One preallocated buffer and its views, made once: reads and sends allocate nothing. */
interface Slot {
  buf: Buffer;
  /** readv targets: the data part of each block. */
  targets: Buffer[];
  /** Full-length DATA packets (header + blksize bytes). */
  packets: Buffer[];
}

/** Target bytes per chunk: big enough to amortise a read, small enough for 1000s of transfers. */
const CHUNK_BYTES = 64 * 1024;

export class BlockReader {
  readonly totalBlocks: number;
  /** Blocks per chunk (one readv each): whole windows, at least two. */
  readonly perChunk: number;
  private readonly stride: number;
  private readonly slots: [Slot, Slot | null];
  private readonly chunks: [Chunk | null, Chunk | null] = [null, null];
  private failure: Error | null = null;

  constructor(
    private readonly source: TftpSource,
    private readonly blksize: number,
    windowsize: number,
  ) {
    // RFC 1350: a block shorter than blksize ends the transfer, so a file whose size is
    // a multiple of blksize ends with an empty block.
    this.totalBlocks = Math.floor(source.size / blksize) + 1;
    this.stride = blksize + 4;
    // Whole windows per chunk: windows then never straddle two chunks while nothing is lost.
    // At least two: the read of chunk c+1 starts after c's first window is sent and then
    // has a window's sending and two round trips to finish; with one window per chunk it
    // had a single round trip and lost that race about every other window (windowsize 64).
    const want = windowsize * Math.max(2, Math.ceil(CHUNK_BYTES / blksize / windowsize));
    this.perChunk = Math.min(want, this.totalBlocks);
    const one = this.perChunk >= this.totalBlocks;
    this.slots = [this.makeSlot(), one ? null : this.makeSlot()];
  }

  private makeSlot(): Slot {
    const buf = Buffer.allocUnsafe(this.perChunk * this.stride);
    const targets: Buffer[] = [];
    const packets: Buffer[] = [];
    for (let i = 0; i < this.perChunk; i++) {
      const off = i * this.stride;
      buf.writeUInt16BE(3, off); // DATA; the block number is written per chunk
      targets.push(buf.subarray(off + 4, off + this.stride));
      packets.push(buf.subarray(off, off + this.stride));
    }
    return { buf, targets, packets };
  }

  private chunkOf(block: number): number {
    return Math.floor((block - 1) / this.perChunk);
  }

  /**
   * Resolves when blocks [from, to] (1-based, absolute) are in memory; returns null when
   * they already are, so the hot path has no promise.
   */
  ensure(from: number, to: number): Promise<void> | null {
    if (this.failure) return Promise.reject(this.failure);
    const a = this.chunkOf(from);
    const b = this.chunkOf(Math.min(to, this.totalBlocks));
    const pa = this.load(a);
    const pb = b !== a ? this.load(b) : null;
    if (pa && pb) return Promise.all([pa, pb]).then(() => undefined);
    return pa ?? pb;
  }

  /**
   * Starts reading the chunk after the one holding window [from, to], if that chunk's
   * buffer is free (the window does not reach back into the chunk before) and it is not
   * loaded or loading yet. A read error is kept and reported by the next ensure().
   */
  readAhead(from: number, to: number): void {
    const a = this.chunkOf(from);
    if (this.chunkOf(to) !== a || (a + 1) * this.perChunk >= this.totalBlocks) return;
    const next = this.chunks[(a + 1) & 1];
    if (next && next.index === a + 1) return;
    this.load(a + 1)?.catch(() => {});
  }

  private load(index: number): Promise<void> | null {
    const n = index & 1;
    const have = this.chunks[n];
    if (have && have.index === index) return have.loaded ? null : have.ready;
    // The slot still holds the chunk before: only the window's first chunk and its
    // successor are ever needed, so the older one is no longer read by anyone.
    const slot = this.slots[n] ?? this.slots[0];
    const chunk: Chunk = { index, packets: slot.packets, ready: null, loaded: false };
    this.chunks[n] = chunk;
    chunk.ready = this.fill(chunk, slot).then(
      () => {
        chunk.loaded = true;
      },
      (e: unknown) => {
        this.failure = e instanceof Error ? e : new Error(String(e));
        if (this.chunks[n] === chunk) this.chunks[n] = null;
        throw this.failure;
      },
    );
    return chunk.ready;
  }

  private async fill(chunk: Chunk, slot: Slot): Promise<void> {
    const first = chunk.index * this.perChunk + 1;
    const count = Math.min(this.perChunk, this.totalBlocks - first + 1);
    const position = (first - 1) * this.blksize;
    const expect = Math.min(count * this.blksize, this.source.size - position);
    const targets = count === this.perChunk ? slot.targets : slot.targets.slice(0, count);
    const got = await this.source.read(targets, position);
    if (got !== expect) throw new Error(`short read: ${got} of ${expect} bytes at ${position}`);
    for (let i = 0; i < count; i++)
      slot.buf.writeUInt16BE((first + i) & 0xffff, i * this.stride + 2);
    // The file's last block is short (possibly empty): only the final chunk has one.
    if (first + count - 1 === this.totalBlocks) {
      const lastLen = this.source.size - (this.totalBlocks - 1) * this.blksize;
      const packets = slot.packets.slice(0, count);
      const off = (count - 1) * this.stride;
      packets[count - 1] = slot.buf.subarray(off, off + 4 + lastLen);
      chunk.packets = packets;
    }
  }

  /** The DATA packet for `block`; only valid after ensure() covered it. */
  packet(block: number): Buffer {
    const index = this.chunkOf(block);
    const chunk = this.chunks[index & 1];
    if (!chunk || chunk.index !== index || !chunk.loaded) {
      throw new Error(`block ${block} is not loaded`);
    }
    const p = chunk.packets[block - 1 - index * this.perChunk];
    if (!p) throw new Error(`block ${block} out of range`);
    return p;
  }
}
