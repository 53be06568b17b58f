// BOOTP/DHCPv4 packet codec (RFC 951, RFC 2131, RFC 2132, overload RFC 2131 §4.1 / option 52,
// long options RFC 3396). Pure: bytes in, a typed packet out, and back.
//
// Decoding is strict because every byte comes from an unauthenticated network peer: a bad
// op, hlen, length, magic cookie or an option whose length runs past its field is rejected
// with a DhcpPacketError naming the field. Options are kept as a list of raw byte strings in
// wire order, together with the field they came from (options, file or sname when option 52
// overloads them), so a packet re-encodes to the same option bytes even when pxm does not
// understand an option (relay agent info, vendor options, ...).
import { ipToNum } from './config.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header before the magic cookie. */
const HEADER_LEN = 236;
const SNAME_OFF = 44;
const SNAME_LEN = 64;
const FILE_OFF = 108;
const FILE_LEN = 128;
/** RFC 2131: a server must accept messages of at least 576 octets; replies are padded to 300 (BOOTP minimum). */
export const BOOTP_MIN_LEN = 300;

export type OptionField = 'options' | 'file' | 'sname';

export interface DhcpOption {
  code: number;
  /** The option's value bytes, exactly as sent (no code/length). */
  data: Buffer;
  /** Where the option was (or will be) carried. Default 'options'. */
  field?: OptionField;
}

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** All 16 bytes of chaddr (only the first hlen are the hardware address). */
  chaddr: Buffer;
  /** Raw 64-byte sname field (zero-terminated text unless overloaded). */
  sname: Buffer;
  /** Raw 128-byte file field (zero-terminated text unless overloaded). */
  file: Buffer;
  /** Options in wire order, pads and end excluded. */
  options: DhcpOption[];
}

export class DhcpPacketError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`DHCP packet ${field}: ${problem}`);
    this.name = 'DhcpPacketError';
  }
}

export function ipFromBytes(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function writeIp(out: Buffer, off: number, ip: string, where: string): void {
  const n = ipToNum(ip);
  if (n === undefined) throw new DhcpPacketError(where, `not an IPv4 address: ${ip}`);
  out.writeUInt32BE(n, off);
}

export function ipToBytes(ip: string, where = 'address'): Buffer {
  const out = Buffer.allocUnsafe(4);
  writeIp(out, 0, ip, where);
  return out;
}

/** Parses the TLV options in buf[start, end). Pads are skipped; end (255) stops. */
function parseOptions(
  buf: Buffer,
  start: number,
  end: number,
  field: OptionField,
  out: DhcpOption[],
): void {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) return;
    if (i + 1 >= end)
      throw new DhcpPacketError(`${field}: option ${code}`, 'length byte missing (truncated)');
    const len = buf[i + 1]!;
    if (i + 2 + len > end)
      throw new DhcpPacketError(
        `${field}: option ${code}`,
        `length ${len} overruns the ${field} field by ${i + 2 + len - end} byte(s)`,
      );
    out.push({ code, data: buf.subarray(i + 2, i + 2 + len), field });
    i += 2 + len;
  }
  // No end option: RFC 2131 requires it in the options field, but several ROMs omit it
  // when the field is exactly full or padded; accepting is harmless since lengths checked out.
}

export function decodePacket(input: Buffer): DhcpPacket {
  // One copy of the whole message (the caller's receive buffer may be reused); option
  // values, chaddr, sname and file are views of it. A copy per field cost more than the
  // rest of the decode.
  const buf = Buffer.allocUnsafe(input.length);
  input.copy(buf);
  if (buf.length < HEADER_LEN + 4)
    throw new DhcpPacketError('length', `${buf.length} bytes, a DHCP message has at least 240`);
  const op = buf[0]!;
  if (op !== BOOTREQUEST && op !== BOOTREPLY)
    throw new DhcpPacketError('op', `${op} is neither BOOTREQUEST (1) nor BOOTREPLY (2)`);
  const hlen = buf[2]!;
  if (hlen > 16) throw new DhcpPacketError('hlen', `${hlen} exceeds the 16-byte chaddr field`);
  if (buf[1] === 1 && hlen !== 6)
    throw new DhcpPacketError('hlen', `${hlen} for htype 1 (Ethernet), expected 6`);
  const cookie = buf.readUInt32BE(HEADER_LEN);
  if (cookie !== MAGIC_COOKIE)
    throw new DhcpPacketError(
      'magic cookie',
      `0x${cookie.toString(16).padStart(8, '0')}, expected 0x63825363`,
    );
  const options: DhcpOption[] = [];
  parseOptions(buf, HEADER_LEN + 4, buf.length, 'options', options);
  const overload = options.find((o) => o.code === 52);
  if (overload) {
    if (overload.data.length !== 1 || overload.data[0]! < 1 || overload.data[0]! > 3)
      throw new DhcpPacketError('option 52 (overload)', 'must be one byte 1, 2 or 3');
    const v = overload.data[0]!;
    // RFC 2131 §4.1: options field first, then file, then sname.
    if (v & 1) parseOptions(buf, FILE_OFF, FILE_OFF + FILE_LEN, 'file', options);
    if (v & 2) parseOptions(buf, SNAME_OFF, SNAME_OFF + SNAME_LEN, 'sname', options);
  }
  return {
    op,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipFromBytes(buf, 12),
    yiaddr: ipFromBytes(buf, 16),
    siaddr: ipFromBytes(buf, 20),
    giaddr: ipFromBytes(buf, 24),
    chaddr: buf.subarray(28, 44),
    sname: buf.subarray(SNAME_OFF, SNAME_OFF + SNAME_LEN),
    file: buf.subarray(FILE_OFF, FILE_OFF + FILE_LEN),
    options,
  };
}

/** Bytes the options take as TLVs, values over 255 bytes split into several (RFC 3396). */
function optionsLength(opts: readonly DhcpOption[], field: OptionField): number {
  let n = 0;
  for (const o of opts) {
    if ((o.field ?? 'options') !== field) continue;
    if (!Number.isInteger(o.code) || o.code < 1 || o.code > 254)
      throw new DhcpPacketError(`option ${o.code}`, 'code must be 1..254');
    n += o.data.length + 2 * Math.max(1, Math.ceil(o.data.length / 255));
  }
  return n;
}

/** Writes the options of one field as TLVs at `off`; returns the offset after them. */
function writeOptions(
  out: Buffer,
  off: number,
  opts: readonly DhcpOption[],
  field: OptionField,
): number {
  for (const o of opts) {
    if ((o.field ?? 'options') !== field) continue;
    let at = 0;
    do {
      const len = Math.min(255, o.data.length - at);
      out[off++] = o.code;
      out[off++] = len;
      o.data.copy(out, off, at, at + len);
      off += len;
      at += 255;
    } while (at < o.data.length);
  }
  return off;
}

/** sname or file: options when option 52 overloads it, otherwise the raw field. */
function writeField(
  out: Buffer,
  p: DhcpPacket,
  field: 'sname' | 'file',
  off: number,
  size: number,
): void {
  const used = optionsLength(p.options, field);
  if (used > 0) {
    if (used + 1 > size)
      throw new DhcpPacketError(field, `options need ${used + 1} bytes, the field has ${size}`);
    out[writeOptions(out, off, p.options, field)] = 255;
    return;
  }
  const raw = p[field];
  if (raw.length > size) throw new DhcpPacketError(field, `${raw.length} bytes, at most ${size}`);
  raw.copy(out, off);
}

/** One allocation per packet: header, options and padding are written in place. */
export function encodePacket(p: DhcpPacket): Buffer {
  if (p.op !== BOOTREQUEST && p.op !== BOOTREPLY) throw new DhcpPacketError('op', `${p.op}`);
  if (p.hlen > 16) throw new DhcpPacketError('hlen', `${p.hlen} exceeds 16`);
  if (p.chaddr.length > 16)
    throw new DhcpPacketError('chaddr', `${p.chaddr.length} bytes, at most 16`);
  const optsLen = optionsLength(p.options, 'options');
  const out = Buffer.alloc(Math.max(BOOTP_MIN_LEN, HEADER_LEN + 4 + optsLen + 1));
  out[0] = p.op;
  out[1] = p.htype;
  out[2] = p.hlen;
  out[3] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs, 8);
  out.writeUInt16BE(p.flags, 10);
  writeIp(out, 12, p.ciaddr, 'ciaddr');
  writeIp(out, 16, p.yiaddr, 'yiaddr');
  writeIp(out, 20, p.siaddr, 'siaddr');
  writeIp(out, 24, p.giaddr, 'giaddr');
  p.chaddr.copy(out, 28);
  writeField(out, p, 'sname', SNAME_OFF, SNAME_LEN);
  writeField(out, p, 'file', FILE_OFF, FILE_LEN);
  out.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
  out[writeOptions(out, HEADER_LEN + 4, p.options, 'options')] = 255;
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hardware address as lower-case `aa:bb:...` (the first hlen bytes of chaddr). */
export function macOf(p: DhcpPacket): string {
  const n = Math.min(p.hlen, 16, p.chaddr.length);
  let s = n > 0 ? HEX[p.chaddr[0]!]! : '';
  for (let i = 1; i < n; i++) s += `:${HEX[p.chaddr[i]!]!}`;
  return s;
}

/** Zero-terminated text of a raw sname/file field. */
export function fieldText(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}
