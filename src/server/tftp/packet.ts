// TFTP packet codec (RFC 1350, options RFC 2347). Pure: bytes in, typed packets out, and
// back. Decoding is strict because every byte comes from an unauthenticated network peer:
// a packet that is truncated, has an unknown opcode, an unterminated string, a bad mode or
// an absurd option list is rejected with a PacketError naming the offending field, and
// the server answers it with ERROR 4 instead of guessing.

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 1350 error codes (+ 8 from RFC 2347). */
export const ErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type TransferMode = 'octet' | 'netascii';

export interface RequestPacket {
  op: typeof Opcode.RRQ | typeof Opcode.WRQ;
  filename: string;
  mode: TransferMode;
  /** Option names lower-cased (RFC 2347: case-insensitive), values as sent. */
  options: Map<string, string>;
}
export interface DataPacket {
  op: typeof Opcode.DATA;
  block: number;
  data: Buffer;
}
export interface AckPacket {
  op: typeof Opcode.ACK;
  block: number;
}
export interface ErrorPacket {
  op: typeof Opcode.ERROR;
  code: number;
  message: string;
}
export interface OackPacket {
  op: typeof Opcode.OACK;
  options: Map<string, string>;
}
export type Packet = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export class PacketError extends Error {
  /** Which part of the packet was wrong, e.g. `opcode`, `filename`, `option[2].value`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'PacketError';
    this.field = field;
  }
}

/** Limits that keep a hostile request cheap to reject. RFC 2347 caps a request at 512 bytes. */
export const LIMITS = {
  maxRequestBytes: 512,
  maxFilenameBytes: 255,
  maxOptions: 16,
  maxOptionNameBytes: 32,
  maxOptionValueBytes: 32,
  maxErrorMessageBytes: 512,
  maxDataBytes: 65464,
} as const;

/** Reads NUL-terminated strings from a packet, failing with the field name. */
class StringReader {
  pos = 2;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  next(field: string, maxBytes: number): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new PacketError(field, 'string is not NUL-terminated');
    if (end - this.pos > maxBytes) throw new PacketError(field, `longer than ${maxBytes} bytes`);
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

// Printable ASCII only: file names and option names/values have no business carrying
// control bytes, and refusing them here keeps them out of logs and path handling.
const PRINTABLE = /^[\x20-\x7e]*$/;

function decodeOptions(r: StringReader, maxCount: number): Map<string, string> {
  const options = new Map<string, string>();
  let i = 0;
  while (!r.done) {
    if (i >= maxCount) throw new PacketError('options', `more than ${maxCount} options`);
    const name = r.next(`option[${i}].name`, LIMITS.maxOptionNameBytes).toLowerCase();
    if (name === '') throw new PacketError(`option[${i}].name`, 'empty option name');
    if (!PRINTABLE.test(name)) throw new PacketError(`option[${i}].name`, 'non-printable bytes');
    if (r.done) throw new PacketError(`option[${i}].value`, `option "${name}" has no value`);
    const value = r.next(`option[${i}].value`, LIMITS.maxOptionValueBytes);
    if (!PRINTABLE.test(value)) throw new PacketError(`option[${i}].value`, 'non-printable bytes');
    if (options.has(name)) throw new PacketError(`option[${i}].name`, `duplicate option "${name}"`);
    options.set(name, value);
    i++;
  }
  return options;
}

export function decodePacket(buf: Buffer): Packet {
  if (buf.length < 2) throw new PacketError('opcode', `packet of ${buf.length} bytes is truncated`);
  const op = buf.readUInt16BE(0);
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      if (buf.length > LIMITS.maxRequestBytes) {
        throw new PacketError('request', `${buf.length} bytes exceeds ${LIMITS.maxRequestBytes}`);
      }
      const r = new StringReader(buf);
      const filename = r.next('filename', LIMITS.maxFilenameBytes);
      if (filename === '') throw new PacketError('filename', 'empty');
      if (!PRINTABLE.test(filename)) throw new PacketError('filename', 'non-printable bytes');
      const mode = r.next('mode', 16).toLowerCase();
      if (mode !== 'octet' && mode !== 'netascii') {
        throw new PacketError('mode', `"${mode}" is not octet or netascii`);
      }
      return { op, filename, mode, options: decodeOptions(r, LIMITS.maxOptions) };
    }
    case Opcode.DATA: {
      if (buf.length < 4) throw new PacketError('block', 'DATA packet truncated');
      if (buf.length - 4 > LIMITS.maxDataBytes) throw new PacketError('data', 'oversized');
      return { op, block: buf.readUInt16BE(2), data: buf.subarray(4) };
    }
    case Opcode.ACK: {
      // Some clients pad ACKs; only the first four bytes mean anything.
      if (buf.length < 4) throw new PacketError('block', 'ACK packet truncated');
      return { op, block: buf.readUInt16BE(2) };
    }
    case Opcode.ERROR: {
      if (buf.length < 4) throw new PacketError('code', 'ERROR packet truncated');
      const code = buf.readUInt16BE(2);
      const end = buf.indexOf(0, 4);
      // Many clients forget the terminator on ERROR; accept it, the packet ends anyway.
      const stop = Math.min(end < 0 ? buf.length : end, 4 + LIMITS.maxErrorMessageBytes);
      return { op, code, message: buf.toString('latin1', 4, stop).replace(/[^\x20-\x7e]/g, '?') };
    }
    case Opcode.OACK: {
      const r = new StringReader(buf);
      return { op, options: decodeOptions(r, LIMITS.maxOptions) };
    }
    default:
      throw new PacketError('opcode', `unknown opcode ${op}`);
  }
}

function pushString(parts: Buffer[], s: string): void {
  parts.push(Buffer.from(s, 'latin1'), Buffer.alloc(1));
}

function encodeOptionList(parts: Buffer[], options: ReadonlyMap<string, string>): void {
  for (const [k, v] of options) {
    pushString(parts, k);
    pushString(parts, v);
  }
}

function opBuf(op: number, second?: number): Buffer {
  const b = Buffer.alloc(second === undefined ? 2 : 4);
  b.writeUInt16BE(op, 0);
  if (second !== undefined) b.writeUInt16BE(second & 0xffff, 2);
  return b;
}

export function encodePacket(p: Packet): Buffer {
  switch (p.op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const parts = [opBuf(p.op)];
      pushString(parts, p.filename);
      pushString(parts, p.mode);
      encodeOptionList(parts, p.options);
      return Buffer.concat(parts);
    }
    case Opcode.DATA:
      return Buffer.concat([opBuf(p.op, p.block), p.data]);
    case Opcode.ACK:
      return opBuf(p.op, p.block);
    case Opcode.ERROR: {
      const parts = [opBuf(p.op, p.code)];
      pushString(parts, p.message.slice(0, LIMITS.maxErrorMessageBytes));
      return Buffer.concat(parts);
    }
    case Opcode.OACK: {
      const parts = [opBuf(p.op)];
      encodeOptionList(parts, p.options);
      return Buffer.concat(parts);
    }
  }
}

export function errorPacket(code: number, message: string): Buffer {
  return encodePacket({ op: Opcode.ERROR, code, message });
}
