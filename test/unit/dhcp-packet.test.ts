import { describe, expect, it } from 'vitest';
import { clientPacket } from '../helpers/dhcp-request.js';
import {
  DhcpPacketError,
  decodePacket,
  encodePacket,
  fieldText,
  macOf,
  type DhcpPacket,
} from '../../src/server/dhcp/packet.js';
import {
  MsgType,
  Opt,
  clientArch,
  clientUuid,
  decodeVendorSubOptions,
  getOption,
  messageType,
  optIp,
  pxeVendorOptions,
  userClasses,
} from '../../src/server/dhcp/options.js';

function request(over: Partial<DhcpPacket> = {}): DhcpPacket {
  return clientPacket(
    [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
    MsgType.DISCOVER,
    [
      { code: Opt.VENDOR_CLASS, data: Buffer.from('PXEClient:Arch:00007:UNDI:003016') },
      { code: Opt.CLIENT_ARCH, data: Buffer.from([0, 7]) },
      { code: Opt.CLIENT_NDI, data: Buffer.from([1, 3, 0]) },
      { code: Opt.CLIENT_UUID, data: Buffer.from('00112233445566778899aabbccddeeff00', 'hex') },
      { code: Opt.USER_CLASS, data: Buffer.from('iPXE') },
      // Options pxm does not understand: relay agent info and a site-specific one.
      { code: 82, data: Buffer.from([1, 3, 0x65, 0x74, 0x68]) },
      { code: 224, data: Buffer.from([9, 8, 7]) },
    ],
    { xid: 0xdeadbeef, secs: 3, flags: 0x8000, ...over },
  );
}

/** A hand-built wire packet: header + cookie + raw option bytes. */
function wire(optionBytes: number[], patch: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x63825363, 236);
  patch(b);
  return Buffer.concat([b, Buffer.from(optionBytes)]);
}

function fails(buf: Buffer): DhcpPacketError {
  try {
    decodePacket(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(DhcpPacketError);
    return e as DhcpPacketError;
  }
  throw new Error('decoded a malformed packet');
}

describe('DHCP codec', () => {
  it('round-trips a PXE DISCOVER, unknown options kept byte-for-byte and in order', () => {
    const p = request();
    const bytes = encodePacket(p);
    const d = decodePacket(bytes);
    expect(d.options.map((o) => o.code)).toEqual([53, 60, 93, 94, 97, 77, 82, 224]);
    expect(getOption(d, 82)).toEqual(Buffer.from([1, 3, 0x65, 0x74, 0x68]));
    expect(getOption(d, 224)).toEqual(Buffer.from([9, 8, 7]));
    expect(encodePacket(d)).toEqual(bytes);
    expect(macOf(d)).toBe('52:54:00:12:34:56');
    expect(d.xid).toBe(0xdeadbeef);
    expect(d.flags).toBe(0x8000);
    expect(messageType(d)).toBe(MsgType.DISCOVER);
    expect(clientArch(d)).toBe(7);
    expect(userClasses(d)).toEqual(['iPXE']);
    expect(clientUuid(d)?.length).toBe(17);
  });

  it('skips pads, stops at end and ignores bytes after it', () => {
    const d = decodePacket(wire([0, 0, 53, 1, 3, 0, 255, 99, 99, 99]));
    expect(d.options).toHaveLength(1);
    expect(messageType(d)).toBe(3);
  });

  it('reads options from file and sname when option 52 overloads them, in RFC order', () => {
    const b = wire([53, 1, 1, 52, 1, 3, 255], (h) => {
      h.set([12, 3, 0x61, 0x62, 0x63, 255], 108); // file: hostname "abc"
      h.set([15, 2, 0x78, 0x79, 255], 44); // sname: domain "xy"
    });
    const d = decodePacket(b);
    expect(d.options.map((o) => [o.code, o.field])).toEqual([
      [53, 'options'],
      [52, 'options'],
      [12, 'file'],
      [15, 'sname'],
    ]);
    // Re-encoding keeps the overloaded options where they were.
    const again = decodePacket(encodePacket(d));
    expect(again.options).toEqual(d.options);
  });

  it('splits long options over 255 bytes and concatenates them on read (RFC 3396)', () => {
    const big = Buffer.alloc(600, 7);
    const p = request({
      options: [
        { code: 53, data: Buffer.from([1]) },
        { code: 43, data: big },
      ],
    });
    const d = decodePacket(encodePacket(p));
    expect(d.options.filter((o) => o.code === 43)).toHaveLength(3);
    expect(getOption(d, 43)).toEqual(big);
  });

  it('keeps a decoded packet intact when the receive buffer is reused', () => {
    const bytes = encodePacket(request());
    const d = decodePacket(bytes);
    bytes.fill(0);
    expect(macOf(d)).toBe('52:54:00:12:34:56');
    expect(clientArch(d)).toBe(7);
    expect(getOption(d, 82)).toEqual(Buffer.from([1, 3, 0x65, 0x74, 0x68]));
  });

  it('refuses to encode an address that is not dotted-quad IPv4, naming the field', () => {
    for (const bad of [
      '256.0.0.1',
      '10.0.0',
      '10.0.0.1.2',
      '10..0.1',
      '1000.0.0.1',
      ' 10.0.0.1',
      '',
    ])
      expect(() => encodePacket(request({ giaddr: bad }))).toThrow(/giaddr: not an IPv4 address/);
    expect(decodePacket(encodePacket(request({ giaddr: '255.254.0.9' }))).giaddr).toBe(
      '255.254.0.9',
    );
  });

  it('pads replies to the BOOTP minimum of 300 bytes', () => {
    expect(encodePacket(request({ options: [] })).length).toBe(300);
  });

  it('encodes PXE discovery control in option 43', () => {
    const sub = decodeVendorSubOptions(pxeVendorOptions().data);
    expect(sub.get(6)).toEqual(Buffer.from([8]));
  });

  it('accepts RFC 3004 length-prefixed user classes as well as the bare iPXE string', () => {
    const d = decodePacket(wire([77, 9, 4, 0x69, 0x50, 0x58, 0x45, 3, 0x61, 0x62, 0x63, 255]));
    expect(userClasses(d)).toEqual(['iPXE', 'abc']);
  });

  it('reads file and sname as zero-terminated text', () => {
    const f = Buffer.alloc(128);
    f.write('lpxelinux.0');
    expect(fieldText(f)).toBe('lpxelinux.0');
  });

  describe('rejects malformed packets naming the field', () => {
    it('short packet', () => expect(fails(Buffer.alloc(100)).field).toBe('length'));
    it('bad op', () => expect(fails(wire([255], (h) => (h[0] = 7))).field).toBe('op'));
    it('hlen over 16', () => expect(fails(wire([255], (h) => (h[2] = 17))).field).toBe('hlen'));
    it('hlen not 6 for Ethernet', () =>
      expect(fails(wire([255], (h) => (h[2] = 8))).message).toMatch(/hlen: 8 for htype 1/));
    it('bad magic cookie', () => {
      const e = fails(wire([255], (h) => h.writeUInt32BE(0x01020304, 236)));
      expect(e.field).toBe('magic cookie');
      expect(e.message).toMatch(/0x01020304/);
    });
    it('option length overrun', () => {
      const e = fails(wire([53, 1, 1, 60, 20, 0x50, 0x58]));
      expect(e.field).toBe('options: option 60');
      expect(e.problem).toMatch(/overruns/);
    });
    it('option code without a length byte', () =>
      expect(fails(wire([53, 1, 1, 60])).problem).toMatch(/length byte missing/));
    it('overrun inside an overloaded file field', () => {
      const e = fails(wire([52, 1, 1, 255], (h) => h.set([12, 200], 108)));
      expect(e.field).toBe('file: option 12');
    });
    it('bad overload value', () =>
      expect(fails(wire([52, 1, 9, 255])).field).toBe('option 52 (overload)'));
    it('option values of the wrong size', () => {
      const d = decodePacket(wire([50, 3, 1, 2, 3, 93, 1, 0, 53, 2, 1, 1, 255]));
      expect(() => optIp(d, Opt.REQUESTED_IP)).toThrow(/option 50: length 3/);
      expect(() => clientArch(d)).toThrow(/option 93/);
      expect(() => messageType(d)).toThrow(/option 53/);
    });
  });
});
