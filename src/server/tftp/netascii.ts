// netascii (RFC 764 via RFC 1350): LF -> CR LF, CR -> CR NUL. Bootloaders always use
// octet; netascii exists for old clients fetching text, so it converts in memory and
// refuses files too large to convert that way instead of streaming a rewrite.
import { bufferSource, type TftpSource } from './handler.js';

export const NETASCII_MAX_BYTES = 16 * 1024 * 1024;

export function toNetascii(bytes: Buffer): Buffer {
  let extra = 0;
  for (const b of bytes) if (b === 0x0a || b === 0x0d) extra++;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let j = 0;
  for (const b of bytes) {
    if (b === 0x0a) {
      out[j++] = 0x0d;
      out[j++] = 0x0a;
    } else if (b === 0x0d) {
      out[j++] = 0x0d;
      out[j++] = 0x00;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

/** Reads the whole source and returns a converted in-memory source; closes the original. */
export async function netasciiSource(src: TftpSource): Promise<TftpSource> {
  try {
    if (src.size > NETASCII_MAX_BYTES) {
      throw new Error(`netascii transfers are limited to ${NETASCII_MAX_BYTES} bytes`);
    }
    const raw = Buffer.allocUnsafe(src.size);
    const n = await src.read([raw], 0);
    return bufferSource(toNetascii(raw.subarray(0, n)));
  } finally {
    await src.close();
  }
}
