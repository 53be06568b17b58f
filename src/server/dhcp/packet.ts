// BOOTP/DHCPv4 packet codec (RFC 951, RFC 2131, RFC 2132, overload RFC 2131 §4.1 / option 52,
// long options RFC 3396). Pure: bytes in, a typed packet out, and back.
//
// Decoding is strict because every byte comes from an unauthenticated network peer: a bad
// op, hlen, length, magic cookie or an option whose length runs past its field is rejected
// with a DhcpPacketError naming the field. Options are kept as a list of raw byte strings in
// wire order, together with the field they came from (options, file or sname when option 52
// overloads them), so a packet re-encodes to the same option bytes even when pxm does not
// understand an option (relay agent info, vendor options, ...).

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

export function ipToBytes(ip: string, where = 'address'): Buffer {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new DhcpPacketError(where, `not an IPv4 address: ${ip}`);
  const out = Buffer.alloc(4);
  parts.forEach((p, i) => {
    const n = /^\d{1,3}$/.test(p) ? Number(p) : NaN;
    if (!(n >= 0 && n <= 255)) throw new DhcpPacketError(where, `not an IPv4 address: ${ip}`);
    out[i] = n;
  });
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
    // Copy: the caller's receive buffer may be reused.
    out.push({ code, data: Buffer.from(buf.subarray(i + 2, i + 2 + len)), field });
    i += 2 + len;
  }
  // No end option: RFC 2131 requires it in the options field, but several ROMs omit it
  // when the field is exactly full or padded; accepting is harmless since lengths checked out.
}

export function decodePacket(buf: Buffer): DhcpPacket {
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
    chaddr: Buffer.from(buf.subarray(28, 44)),
    sname: Buffer.from(buf.subarray(SNAME_OFF, SNAME_OFF + SNAME_LEN)),
    file: Buffer.from(buf.subarray(FILE_OFF, FILE_OFF + FILE_LEN)),
    options,
  };
}

/** Writes options as TLVs, splitting values over 255 bytes into several instances (RFC 3396). */
function encodeOptions(opts: DhcpOption[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const o of opts) {
    if (!Number.isInteger(o.code) || o.code < 1 || o.code > 254)
      throw new DhcpPacketError(`option ${o.code}`, 'code must be 1..254');
    let off = 0;
    do {
      const chunk = o.data.subarray(off, off + 255);
      parts.push(Buffer.from([o.code, chunk.length]), chunk);
      off += 255;
    } while (off < o.data.length);
  }
  return parts;
}

function fillField(raw: Buffer, opts: DhcpOption[], field: OptionField, size: number): Buffer {
  if (opts.length === 0) return raw;
  const body = Buffer.concat([...encodeOptions(opts), Buffer.from([255])]);
  if (body.length > size)
    throw new DhcpPacketError(field, `options need ${body.length} bytes, the field has ${size}`);
  const out = Buffer.alloc(size);
  body.copy(out);
  return out;
}

function fixed(b: Buffer, size: number, field: string): Buffer {
  if (b.length > size) throw new DhcpPacketError(field, `${b.length} bytes, at most ${size}`);
  const out = Buffer.alloc(size);
  b.copy(out);
  return out;
}

export function encodePacket(p: DhcpPacket): Buffer {
  if (p.op !== BOOTREQUEST && p.op !== BOOTREPLY) throw new DhcpPacketError('op', `${p.op}`);
  if (p.hlen > 16) throw new DhcpPacketError('hlen', `${p.hlen} exceeds 16`);
  const head = Buffer.alloc(HEADER_LEN + 4);
  head[0] = p.op;
  head[1] = p.htype;
  head[2] = p.hlen;
  head[3] = p.hops;
  head.writeUInt32BE(p.xid >>> 0, 4);
  head.writeUInt16BE(p.secs, 8);
  head.writeUInt16BE(p.flags, 10);
  ipToBytes(p.ciaddr, 'ciaddr').copy(head, 12);
  ipToBytes(p.yiaddr, 'yiaddr').copy(head, 16);
  ipToBytes(p.siaddr, 'siaddr').copy(head, 20);
  ipToBytes(p.giaddr, 'giaddr').copy(head, 24);
  fixed(p.chaddr, 16, 'chaddr').copy(head, 28);
  const inField = (f: OptionField): DhcpOption[] =>
    p.options.filter((o) => (o.field ?? 'options') === f);
  fillField(fixed(p.sname, SNAME_LEN, 'sname'), inField('sname'), 'sname', SNAME_LEN).copy(
    head,
    SNAME_OFF,
  );
  fillField(fixed(p.file, FILE_LEN, 'file'), inField('file'), 'file', FILE_LEN).copy(
    head,
    FILE_OFF,
  );
  head.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
  const body = [head, ...encodeOptions(inField('options')), Buffer.from([255])];
  let out = Buffer.concat(body);
  if (out.length < BOOTP_MIN_LEN)
    out = Buffer.concat([out, Buffer.alloc(BOOTP_MIN_LEN - out.length)]);
  return out;
}

/** Hardware address as lower-case `aa:bb:...` (the first hlen bytes of chaddr). */
export function macOf(p: DhcpPacket): string {
  return [...p.chaddr.subarray(0, Math.min(p.hlen, 16))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

/** Zero-terminated text of a raw sname/file field. */
export function fieldText(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}
