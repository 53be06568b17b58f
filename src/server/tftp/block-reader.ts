// Turns a TftpSource into ready-to-send DATA packets, without per-packet allocation.
//
// The file is read in chunks of C blocks into two preallocated buffers laid out as
// [4-byte header | blksize data] * C, with one readv per chunk straight into the data
// slots; the headers are written in place, so a DATA packet is a view of the buffer and
// goes to socket.send as is. A window (W <= C blocks) spans at most two consecutive
// chunks, which is why two buffers suffice: while the client acknowledges chunk c, chunk
// c+1 is being read ahead.
import type { TftpSource } from './handler.js';

interface Chunk {
  index: number;
  /** Packet views, one per block in the chunk (the last one may be short). */
  packets: Buffer[];
  ready: Promise<void> | null;
  loaded: boolean;
}

/** Target bytes per chunk: big enough to amortise a read, small enough for 1000s of transfers. */
const CHUNK_BYTES = 64 * 1024;

export class BlockReader {
  readonly totalBlocks: number;
  private readonly perChunk: number;
  private readonly stride: number;
  private readonly buffers: [Buffer, Buffer | null];
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
    const want = Math.max(windowsize, Math.ceil(CHUNK_BYTES / blksize));
    this.perChunk = Math.min(want, this.totalBlocks);
    const one = this.perChunk >= this.totalBlocks;
    this.buffers = [
      Buffer.allocUnsafe(this.perChunk * this.stride),
      one ? null : Buffer.allocUnsafe(this.perChunk * this.stride),
    ];
  }

  private chunkOf(block: number): number {
    return Math.floor((block - 1) / this.perChunk);
  }

  /**
   * Resolves when blocks [from, to] (1-based, absolute) are in memory; returns null when
   * they already are, so the hot path has no promise. Also starts reading ahead.
   */
  ensure(from: number, to: number): Promise<void> | null {
    if (this.failure) return Promise.reject(this.failure);
    const a = this.chunkOf(from);
    const b = this.chunkOf(Math.min(to, this.totalBlocks));
    const pa = this.load(a);
    const pb = b !== a ? this.load(b) : null;
    // read ahead the chunk after the window's first one, if its buffer is free
    if (b === a && (a + 1) * this.perChunk < this.totalBlocks)
      void this.load(a + 1)?.catch(() => {});
    if (pa && pb) return Promise.all([pa, pb]).then(() => undefined);
    return pa ?? pb;
  }

  private load(index: number): Promise<void> | null {
    const slot = index & 1;
    const have = this.chunks[slot];
    if (have && have.index === index) return have.loaded ? null : have.ready;
    // The slot still holds the chunk before: only the window's first chunk and its
    // successor are ever needed, so the older one is no longer read by anyone.
    const buf = this.buffers[slot] ?? this.buffers[0];
    const chunk: Chunk = { index, packets: [], ready: null, loaded: false };
    this.chunks[slot] = chunk;
    chunk.ready = this.fill(chunk, buf).then(
      () => {
        chunk.loaded = true;
      },
      (e: unknown) => {
        this.failure = e instanceof Error ? e : new Error(String(e));
        if (this.chunks[slot] === chunk) this.chunks[slot] = null;
        throw this.failure;
      },
    );
    return chunk.ready;
  }

  private async fill(chunk: Chunk, buf: Buffer): Promise<void> {
    const first = chunk.index * this.perChunk + 1;
    const count = Math.min(this.perChunk, this.totalBlocks - first + 1);
    const targets: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const off = i * this.stride + 4;
      targets.push(buf.subarray(off, off + this.blksize));
    }
    const position = (first - 1) * this.blksize;
    const expect = Math.min(count * this.blksize, this.source.size - position);
    const got = await this.source.read(targets, position);
    if (got !== expect) throw new Error(`short read: ${got} of ${expect} bytes at ${position}`);
    for (let i = 0; i < count; i++) {
      const block = first + i;
      const off = i * this.stride;
      buf.writeUInt16BE(3, off);
      buf.writeUInt16BE(block & 0xffff, off + 2);
      const len = Math.min(
        this.blksize,
        Math.max(0, this.source.size - (block - 1) * this.blksize),
      );
      chunk.packets.push(buf.subarray(off, off + 4 + len));
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
