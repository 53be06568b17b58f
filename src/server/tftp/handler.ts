// What the TFTP server asks of whoever owns the files. The protocol code knows nothing
// about nodes or directories: a handler maps a requested name to a readable source or to
// a TFTP error. pxm has a static-root handler (static-root.ts) and the boot handler
// (server/boot/file-handler.ts) that generates per-node configs and falls back to a root.

export interface TftpRemote {
  /** Client address; IPv4-mapped IPv6 addresses are given as plain IPv4. */
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface TftpRequest {
  /** The name exactly as the client sent it (printable ASCII, not yet normalised). */
  filename: string;
  remote: TftpRemote;
}

/**
 * A readable file. `read` fills `targets` in order from byte `position` (like readv) and
 * returns how many bytes it wrote in total: fewer than asked only at end of file. The
 * server calls it with views into preallocated packet buffers, so a source must not keep
 * references to them.
 */
export interface TftpSource {
  readonly size: number;
  read(targets: Buffer[], position: number): Promise<number>;
  close(): Promise<void>;
}

export interface TftpFailure {
  /** A TFTP error code (packet.ts ErrorCode): 1 not found, 2 access violation, ... */
  code: number;
  message: string;
}

export type TftpResolution = { source: TftpSource } | { error: TftpFailure };

export interface TftpHandler {
  resolve(request: TftpRequest): Promise<TftpResolution>;
}

/** A source over bytes already in memory (generated configs, netascii conversions). */
export function bufferSource(bytes: Buffer): TftpSource {
  return {
    size: bytes.length,
    async read(targets, position) {
      let pos = position;
      let total = 0;
      for (const t of targets) {
        if (pos >= bytes.length) break;
        const n = bytes.copy(t, 0, pos, Math.min(bytes.length, pos + t.length));
        pos += n;
        total += n;
      }
      return total;
    },
    async close() {},
  };
}
