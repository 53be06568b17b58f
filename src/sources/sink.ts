// The writable end that feeds tar's stdin.
//
// tar may stop reading before the source ends: it exits 0 after the end-of-archive
// blocks, leaving record padding (or trailing zeros) unread. Writing on would fail with
// EPIPE and turn a good install into an error, and the checksum could not be verified.
// So when tar's stdin closes: if tar succeeded, the rest of the source is still read
// (and hashed) and discarded; if tar failed, the pipeline stops at once.
import { Writable } from 'node:stream';

export interface TarExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export class TarStdinSink extends Writable {
  private discard = false;
  private destError: Error | undefined;
  private pending: ((e?: Error | null) => void) | undefined;
  private readonly dest: Writable;
  private readonly exited: Promise<TarExit>;

  constructor(dest: Writable, exited: Promise<TarExit>) {
    super({ highWaterMark: 1 << 20 });
    this.dest = dest;
    this.exited = exited;
    const gone = (e: Error): void => {
      this.destError ??= e;
      const cb = this.pending;
      this.pending = undefined;
      this.dest.off('drain', this.onDrain);
      if (cb) this.closedEarly(this.destError, cb);
    };
    dest.on('error', gone);
    // Node destroys a child's stdin when the child exits, with no 'error' and no 'drain'.
    dest.on('close', () =>
      gone(Object.assign(new Error('tar closed its input'), { code: 'EPIPE' })),
    );
  }

  // Like pipe(): hand the chunk over and only wait when tar's pipe is full.
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.discard) return cb();
    if (this.destError) return this.closedEarly(this.destError, cb);
    if (this.dest.destroyed) return this.closedEarly(inputClosed(), cb);
    if (this.dest.write(chunk)) return cb();
    this.pending = cb;
    this.dest.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    const cb = this.pending;
    this.pending = undefined;
    cb?.();
  };

  override _final(cb: (e?: Error | null) => void): void {
    if (this.discard) return cb();
    if (this.destError) return this.closedEarly(this.destError, cb);
    this.dest.end((err?: Error | null) => (err ? this.closedEarly(err, cb) : cb()));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // An upstream failure: close tar's input so it sees a short archive and exits.
    this.dest.destroy();
    cb(err);
  }

  private closedEarly(err: Error, cb: (e?: Error | null) => void): void {
    void this.exited.then((r) => {
      if (r.code === 0) {
        this.discard = true;
        cb();
      } else {
        cb(err);
      }
    });
  }
}

/** tar stopped reading; its exit status tells whether that was an error. */
function inputClosed(): Error {
  return Object.assign(new Error('tar closed its input'), { code: 'EPIPE' });
}
