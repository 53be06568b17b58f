// Compression detection from content, never from the name: curtin configs say `tgz:`
// for xz archives and MAAS serves `root-tgz` files that are really zstd.
import type { Readable } from 'node:stream';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

/** Bytes needed to recognise every format (tar's `ustar` magic sits at offset 257). */
export const SNIFF_BYTES = 262;

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (
    head.length >= 6 &&
    head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
  ) {
    return 'xz';
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** True when `head` looks like the start of a tar archive (ustar or old GNU magic). */
export function looksLikeTar(head: Buffer): boolean {
  if (head.length < SNIFF_BYTES) return false;
  return head.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Reads the first `n` bytes of a stream (fewer at its end) and pushes them back, so the
 * stream can then be piped whole. Works on any paused Readable (fs, undici bodies).
 */
export async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  // Only read what is already buffered, and stop as soon as the source has pushed its end:
  // a read() on an empty, ended stream makes it emit 'end', after which the bytes taken
  // here can no longer be pushed back (a stream shorter than n would lose them all).
  while (have < n) {
    if (stream.readableLength > 0) {
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        chunks.push(chunk);
        have += chunk.length;
      }
      continue;
    }
    if (sourceEnded(stream)) break;
    await nextEvent(stream);
  }
  const all = Buffer.concat(chunks);
  if (all.length > 0) stream.unshift(all);
  return all.subarray(0, n);
}

/**
 * True once the source has pushed its last byte, before 'end' is emitted (readableEnded
 * only turns true after it). Node has no public flag for this; `_readableState.ended` is
 * what read() itself checks.
 */
function sourceEnded(stream: Readable): boolean {
  const state = (stream as Readable & { _readableState?: { ended?: boolean } })._readableState;
  return stream.readableEnded || stream.destroyed || state?.ended === true;
}

/** Waits for more data, the end or an error; leaves no listener behind. */
function nextEvent(stream: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const off = (): void => {
      stream.off('readable', ok);
      stream.off('end', ok);
      stream.off('error', fail);
    };
    const ok = (): void => {
      off();
      resolve();
    };
    const fail = (e: Error): void => {
      off();
      reject(e);
    };
    stream.on('readable', ok);
    stream.on('end', ok);
    stream.on('error', fail);
  });
}
