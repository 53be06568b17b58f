import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlockReader } from '../../src/server/tftp/block-reader.js';
import { bufferSource, type TftpSource } from '../../src/server/tftp/handler.js';

/** A source over `bytes` that records every read (position, bytes asked). */
function countingSource(bytes: Buffer): TftpSource & { reads: [number, number][] } {
  const inner = bufferSource(bytes);
  const reads: [number, number][] = [];
  return {
    size: bytes.length,
    reads,
    read(targets, position) {
      reads.push([position, targets.reduce((n, t) => n + t.length, 0)]);
      return inner.read(targets, position);
    },
    close: () => inner.close(),
  };
}

async function packetsOf(r: BlockReader, from: number, to: number): Promise<Buffer[]> {
  await r.ensure(from, to);
  const out: Buffer[] = [];
  for (let b = from; b <= to; b++) out.push(Buffer.from(r.packet(b)));
  r.readAhead(from, to);
  return out;
}

/** Reads the whole file window by window as a loss-free client would see it. */
async function readAll(bytes: Buffer, blksize: number, windowsize: number) {
  const src = countingSource(bytes);
  const r = new BlockReader(src, blksize, windowsize);
  const packets: Buffer[] = [];
  for (let from = 1; from <= r.totalBlocks; from += windowsize) {
    packets.push(...(await packetsOf(r, from, Math.min(r.totalBlocks, from + windowsize - 1))));
  }
  return { r, src, packets };
}

function check(packets: Buffer[], bytes: Buffer, blksize: number): void {
  // every block but the last is full; the last is short, possibly empty (RFC 1350)
  const bad = packets.filter((p, i) => {
    const full = p.length === 4 + blksize;
    const last = i === packets.length - 1;
    return p.readUInt16BE(0) !== 3 || p.readUInt16BE(2) !== ((i + 1) & 0xffff) || full === last;
  });
  expect(bad).toHaveLength(0);
  expect(Buffer.concat(packets.map((p) => p.subarray(4))).equals(bytes)).toBe(true);
}

describe('TFTP block reader', () => {
  const cases: [string, number, number, number][] = [
    ['empty file', 0, 512, 1],
    ['one byte', 1, 512, 1],
    ['exact multiple of blksize', 512 * 300, 512, 1],
    ['odd size, windowsize 8', 1468 * 500 + 77, 1468, 8],
    ['exact multiple of a chunk, windowsize 8', 1468 * 96, 1468, 8],
    ['odd size, windowsize 64', 1468 * 1000 + 5, 1468, 64],
    ['windowsize 7 (chunks of whole windows)', 1000 * 333 + 1, 1000, 7],
  ];
  for (const [label, size, blksize, w] of cases) {
    it(`yields every block intact, each byte read once (${label})`, async () => {
      const bytes = randomBytes(size);
      const { r, src, packets } = await readAll(bytes, blksize, w);
      expect(packets).toHaveLength(Math.floor(size / blksize) + 1);
      check(packets, bytes, blksize);
      // one readv per chunk, chunks of whole windows, no byte read twice
      expect(r.perChunk % w === 0 || r.perChunk === r.totalBlocks).toBe(true);
      expect(src.reads).toHaveLength(Math.ceil(r.totalBlocks / r.perChunk));
      const positions = src.reads.map(([p]) => p);
      expect(new Set(positions).size).toBe(positions.length);
    });
  }

  it('numbers blocks modulo 65536 past block 65535', async () => {
    const bytes = randomBytes(512 * 70_000 + 3);
    const { packets } = await readAll(bytes, 512, 16);
    check(packets, bytes, 512);
    expect(packets[65_535]!.readUInt16BE(2)).toBe(0);
  });

  it('serves a window that spans two chunks (resent from mid-window after a loss)', async () => {
    const bytes = randomBytes(1468 * 400);
    const r = new BlockReader(countingSource(bytes), 1468, 8);
    await packetsOf(r, 1, 8);
    // the client lost block 4 of some late window: resend from inside chunk 0 into chunk 1
    const from = r.perChunk - 3;
    const got = await packetsOf(r, from, from + 7);
    got.forEach((p, i) => {
      const block = from + i;
      expect(p.readUInt16BE(2)).toBe(block);
      expect(p.subarray(4).equals(bytes.subarray((block - 1) * 1468, block * 1468))).toBe(true);
    });
  });

  it('has the next chunk ready after readAhead, without being asked again', async () => {
    const bytes = randomBytes(1468 * 400);
    const src = countingSource(bytes);
    const r = new BlockReader(src, 1468, 8);
    await r.ensure(1, 8);
    r.readAhead(1, 8);
    r.readAhead(9, 16); // already loading: no second read
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.ensure(r.perChunk + 1, r.perChunk + 8)).toBeNull();
    expect(src.reads).toHaveLength(2);
  });

  it('reports a short read and a failing source as errors', async () => {
    const short: TftpSource = { size: 5000, read: async () => 10, close: async () => {} };
    await expect(new BlockReader(short, 512, 1).ensure(1, 1)).rejects.toThrow(/short read: 10 of/);
    const failing: TftpSource = {
      size: 5000,
      read: () => Promise.reject(new Error('EIO')),
      close: async () => {},
    };
    const r = new BlockReader(failing, 512, 1);
    await expect(r.ensure(1, 1)).rejects.toThrow('EIO');
    // the failure is kept: later windows fail the same way instead of reading garbage
    await expect(r.ensure(2, 2)).rejects.toThrow('EIO');
  });
});
