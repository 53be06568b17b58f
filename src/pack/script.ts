// Renders the installer: extractor template + payload, with the offsets and checksums
// the extractor verifies. Pure: same inputs, same bytes.
import { createHash } from 'node:crypto';
import { EXTRACTOR_TEMPLATE, MARKER } from './extractor.sh.js';

export interface ScriptFields {
  /** 'none' when the installer uses the target's node. */
  runtime: 'none' | 'xz' | 'gzip';
  nodeMin: { major: number; minor: number };
}

export function sha256hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Single-quotes a word for sh unless it is plainly safe. */
export function shQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Builds the complete installer file. */
export function renderInstaller(fields: ScriptFields, payload: Buffer): Buffer {
  const payloadSha = sha256hex(payload);
  const fill = (headLines: number, offset: number, headSha: string) =>
    EXTRACTOR_TEMPLATE.replace('@HEAD_SHA256@', headSha)
      .replace('@HEAD_LINES@', String(headLines))
      .replace('@PAYLOAD_OFFSET@', String(offset))
      .replace('@PAYLOAD_SIZE@', String(payload.length))
      .replace('@PAYLOAD_SHA256@', payloadSha)
      .replace('@RUNTIME@', fields.runtime)
      .replace('@NODE_MIN_MAJOR@', String(fields.nodeMin.major))
      .replace('@NODE_MIN_MINOR@', String(fields.nodeMin.minor))
      .replace('@MARKER@', MARKER);

  // The head states its own length in lines and bytes; iterate to the fixed point
  // (digits of the offset change the offset). The hash field has a constant width.
  const placeholderSha = '0'.repeat(64);
  let lines = 0;
  let offset = 0;
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = fill(lines, offset, placeholderSha);
    const nextLines = head.split('\n').length - 1; // the head ends with '\n'
    const nextOffset = Buffer.byteLength(head);
    if (nextLines === lines && nextOffset === offset) break;
    lines = nextLines;
    offset = nextOffset;
  }
  const headLines = head.split('\n').slice(0, lines);
  // Covered by the head hash: lines 1-2 and 4..N (line 3 holds the hash itself).
  const covered = [...headLines.slice(0, 2), ...headLines.slice(3)].map((l) => `${l}\n`).join('');
  const final = fill(lines, offset, sha256hex(covered));
  if (Buffer.byteLength(final) !== offset)
    throw new Error('installer head length changed while hashing');
  return Buffer.concat([Buffer.from(final), payload]);
}
