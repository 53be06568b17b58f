// DHCP option codes pxm reads or writes, typed accessors over the raw option list, and the
// PXE-specific encodings (RFC 4578 options 93/94/97, PXE 2.1 vendor options in 43).
import {
  DhcpPacketError,
  ipFromBytes,
  ipToBytes,
  type DhcpOption,
  type DhcpPacket,
} from './packet.js';

export const Opt = {
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  RELAY_AGENT: 82,
} as const;

export const MsgType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

export const MSG_NAMES: Record<number, string> = {
  1: 'DISCOVER',
  2: 'OFFER',
  3: 'REQUEST',
  4: 'DECLINE',
  5: 'ACK',
  6: 'NAK',
  7: 'RELEASE',
  8: 'INFORM',
};

/** All instances of an option concatenated (RFC 3396 long options); undefined when absent. */
export function getOption(p: DhcpPacket, code: number): Buffer | undefined {
  let first: Buffer | undefined;
  let parts: Buffer[] | undefined;
  for (const o of p.options) {
    if (o.code !== code) continue;
    if (first === undefined) first = o.data;
    else (parts ??= [first]).push(o.data);
  }
  return parts ? Buffer.concat(parts) : first;
}

export function messageType(p: DhcpPacket): number | undefined {
  const v = getOption(p, Opt.MESSAGE_TYPE);
  if (!v) return undefined;
  if (v.length !== 1)
    throw new DhcpPacketError('option 53 (message type)', `length ${v.length}, expected 1`);
  return v[0];
}

export function optIp(p: DhcpPacket, code: number): string | undefined {
  const v = getOption(p, code);
  if (!v) return undefined;
  if (v.length !== 4)
    throw new DhcpPacketError(`option ${code}`, `length ${v.length}, expected 4 (an IPv4 address)`);
  return ipFromBytes(v, 0);
}

export function optText(p: DhcpPacket, code: number): string | undefined {
  return getOption(p, code)?.toString('latin1');
}

/**
 * Option 93 (RFC 4578): a list of 16-bit architecture types; the first is the one the
 * firmware runs. Undefined when absent.
 */
export function clientArch(p: DhcpPacket): number | undefined {
  const v = getOption(p, Opt.CLIENT_ARCH);
  if (!v) return undefined;
  if (v.length < 2 || v.length % 2 !== 0)
    throw new DhcpPacketError(
      'option 93 (client architecture)',
      `length ${v.length}, expected a multiple of 2`,
    );
  return v.readUInt16BE(0);
}

/**
 * Option 77 (RFC 3004) is a list of length-prefixed class strings, but iPXE and most
 * clients send the bare string ("iPXE"). Accept both: if the first byte is a plausible
 * length that consumes the data exactly, take the RFC form.
 */
export function userClasses(p: DhcpPacket): string[] {
  const v = getOption(p, Opt.USER_CLASS);
  if (!v || v.length === 0) return [];
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) return [v.toString('latin1')];
    out.push(v.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  return out;
}

/** Option 97: type 0 followed by a 16-byte GUID (RFC 4578 §2.3). */
export function clientUuid(p: DhcpPacket): Buffer | undefined {
  const v = getOption(p, Opt.CLIENT_UUID);
  if (!v) return undefined;
  if (v.length !== 17 || v[0] !== 0)
    throw new DhcpPacketError(
      'option 97 (client UUID)',
      `expected type 0 and 16 bytes, got ${v.length} bytes`,
    );
  return v;
}

export function paramRequestList(p: DhcpPacket): number[] {
  return [...(getOption(p, Opt.PARAM_REQUEST_LIST) ?? [])];
}

// --- builders ---------------------------------------------------------------------

export const u8 = (code: number, v: number): DhcpOption => ({ code, data: Buffer.from([v]) });
export function u32(code: number, v: number): DhcpOption {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return { code, data: b };
}
export const ip = (code: number, addr: string): DhcpOption => ({
  code,
  data: ipToBytes(addr, `option ${code}`),
});
export const ips = (code: number, addrs: readonly string[]): DhcpOption => ({
  code,
  data: Buffer.concat(addrs.map((a) => ipToBytes(a, `option ${code}`))),
});
export const text = (code: number, s: string): DhcpOption => ({
  code,
  data: Buffer.from(s, 'latin1'),
});

/** PXE 2.1 vendor sub-option 6 (PXE_DISCOVERY_CONTROL). */
export const PXE_DISCOVERY_CONTROL = 6;
/**
 * Option 43 for PXE clients: discovery control 8 = "use the boot file name in this
 * packet, do not run boot server discovery". Without it some ROMs ignore a proxy offer.
 */
export function pxeVendorOptions(discoveryControl = 8): DhcpOption {
  return {
    code: Opt.VENDOR_SPECIFIC,
    data: Buffer.from([PXE_DISCOVERY_CONTROL, 1, discoveryControl, 255]),
  };
}

/** Sub-options of a PXE option 43 as a map (sub-code -> bytes); throws on overrun. */
export function decodeVendorSubOptions(data: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < data.length) {
    const code = data[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) break;
    const len = data[i + 1];
    if (len === undefined || i + 2 + len > data.length)
      throw new DhcpPacketError(`option 43 sub-option ${code}`, 'length overruns option 43');
    out.set(code, data.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}
