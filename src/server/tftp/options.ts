// Option negotiation (RFC 2347 blksize 2348, timeout/tsize 2349, windowsize 7440). Pure:
// the client's requested options + server limits + file size -> what the transfer uses
// and what goes in the OACK. Tolerant by design: firmware is picky and sometimes sends
// odd values, so an option with a value we cannot honour is left out of the OACK (the
// RFC's "decline") rather than failing the boot.

export interface TftpLimits {
  /** Largest blksize granted. Default 1468: a DATA packet then fits a 1500-byte MTU (IPv4). */
  maxBlksize: number;
  /** Largest windowsize granted. */
  maxWindowsize: number;
  /** Retransmission timeout when the client asks for none, in ms. */
  defaultTimeoutMs: number;
}

export const DEFAULT_LIMITS: TftpLimits = {
  maxBlksize: 1468,
  maxWindowsize: 64,
  defaultTimeoutMs: 1000,
};

/** blksize that fits one packet in `mtu` (IP + UDP + 4-byte TFTP header). */
export function blksizeForMtu(mtu: number, ipv6 = false): number {
  const b = mtu - (ipv6 ? 40 : 20) - 8 - 4;
  return Math.max(512, Math.min(65464, b));
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Options to send in an OACK, in the client's order; empty means no OACK. */
  oack: Map<string, string>;
}

function parseDecimal(v: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(v)) return undefined;
  return Number(v);
}

export function negotiate(
  requested: ReadonlyMap<string, string>,
  fileSize: number,
  limits: TftpLimits,
): Negotiated {
  const out: Negotiated = {
    blksize: 512,
    windowsize: 1,
    timeoutMs: limits.defaultTimeoutMs,
    oack: new Map(),
  };
  for (const [name, value] of requested) {
    const n = parseDecimal(value);
    switch (name) {
      case 'blksize':
        // RFC 2348: 8..65464; a larger request is answered with a smaller value.
        if (n !== undefined && n >= 8) {
          out.blksize = Math.min(n, 65464, limits.maxBlksize);
          out.oack.set(name, String(out.blksize));
        }
        break;
      case 'windowsize':
        if (n !== undefined && n >= 1 && n <= 65535) {
          out.windowsize = Math.min(n, limits.maxWindowsize);
          out.oack.set(name, String(out.windowsize));
        }
        break;
      case 'timeout':
        // RFC 2349: 1..255 seconds; the server must echo it unchanged or decline.
        if (n !== undefined && n >= 1 && n <= 255) {
          out.timeoutMs = n * 1000;
          out.oack.set(name, String(n));
        }
        break;
      case 'tsize':
        // On a read request the client sends 0 and the server answers with the size.
        if (n !== undefined) out.oack.set(name, String(fileSize));
        break;
      default:
        // Unknown options (multicast, utimeout, rollover...) are silently declined.
        break;
    }
  }
  return out;
}
