// A pass-through that counts bytes for progress and checks a SHA-256 while the data
// flows. With a checksum it holds back the newest chunk until the next one arrives, so
// the consumer (tar) never receives the final bytes of a source whose checksum is
// wrong: the archive stays incomplete and the extraction fails.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PxmError } from '../util/errors.js';

export class ChecksumMismatchError extends PxmError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(`${what}: sha256 mismatch: expected ${expected}, got ${actual}`);
    this.name = 'ChecksumMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

export interface MeterOptions {
  /** Names the source in a checksum error. */
  what: string;
  expectedSha256?: string;
  total?: number;
  onProgress?: (done: number, total: number | undefined) => void;
  /** Minimum time between progress callbacks (the last one always comes). */
  intervalMs?: number;
}

export class Meter extends Transform {
  bytes = 0;
  private readonly hash: Hash | undefined;
  private held: Buffer | undefined;
  private lastReport = 0;
  private readonly opts: MeterOptions;

  constructor(opts: MeterOptions) {
    super({ highWaterMark: 1 << 20 });
    this.opts = opts;
    this.hash = opts.expectedSha256 ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.report(false);
    if (!this.hash) return cb(null, chunk);
    const out = this.held;
    this.held = chunk;
    cb(null, out);
  }

  override _flush(cb: TransformCallback): void {
    this.report(true);
    if (this.hash && this.opts.expectedSha256) {
      const actual = this.hash.digest('hex');
      if (actual !== this.opts.expectedSha256) {
        this.held = undefined;
        return cb(new ChecksumMismatchError(this.opts.what, this.opts.expectedSha256, actual));
      }
    }
    const last = this.held;
    this.held = undefined;
    cb(null, last);
  }

  private report(final: boolean): void {
    const cb = this.opts.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (!final && now - this.lastReport < (this.opts.intervalMs ?? 250)) return;
    this.lastReport = now;
    cb(this.bytes, this.opts.total);
  }
}
