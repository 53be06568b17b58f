import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Opcode,
  PacketError,
  decodePacket,
  encodePacket,
  errorPacket,
} from '../../src/server/tftp/packet.js';
import { blksizeForMtu, negotiate, DEFAULT_LIMITS } from '../../src/server/tftp/options.js';
import { toNetascii } from '../../src/server/tftp/netascii.js';

function rrq(...parts: string[]): Buffer {
  return Buffer.concat([Buffer.from([0, 1]), ...parts.map((p) => Buffer.from(`${p}\0`, 'latin1'))]);
}

function fieldOf(buf: Buffer): string {
  try {
    decodePacket(buf);
  } catch (e) {
    if (e instanceof PacketError) return e.field;
    throw e;
  }
  return 'decoded';
}

describe('TFTP packet codec', () => {
  it('round-trips every packet type', () => {
    const packets = [
      {
        op: Opcode.RRQ,
        filename: 'pxelinux.0',
        mode: 'octet' as const,
        options: new Map([['blksize', '1468']]),
      },
      {
        op: Opcode.WRQ,
        filename: 'a/b',
        mode: 'netascii' as const,
        options: new Map<string, string>(),
      },
      { op: Opcode.DATA, block: 65535, data: Buffer.from('hello') },
      { op: Opcode.ACK, block: 7 },
      { op: Opcode.ERROR, code: ErrorCode.FILE_NOT_FOUND, message: 'nope' },
      {
        op: Opcode.OACK,
        options: new Map([
          ['tsize', '123'],
          ['windowsize', '8'],
        ]),
      },
    ];
    for (const p of packets) expect(decodePacket(encodePacket(p))).toEqual(p);
  });

  it('lower-cases option names and mode, keeps option order', () => {
    const p = decodePacket(rrq('f', 'OCTET', 'BlkSize', '1024', 'TSIZE', '0'));
    expect(p).toMatchObject({ op: Opcode.RRQ, mode: 'octet' });
    if (p.op !== Opcode.RRQ) throw new Error('not RRQ');
    expect([...p.options.keys()]).toEqual(['blksize', 'tsize']);
  });

  it('names the field of each malformed packet', () => {
    expect(fieldOf(Buffer.alloc(0))).toBe('opcode');
    expect(fieldOf(Buffer.from([0]))).toBe('opcode');
    expect(fieldOf(Buffer.from([0, 9, 1, 2]))).toBe('opcode');
    expect(fieldOf(Buffer.from([0, 1, 0x66, 0x6f]))).toBe('filename'); // unterminated
    expect(fieldOf(rrq('', 'octet'))).toBe('filename');
    expect(fieldOf(Buffer.concat([Buffer.from([0, 1]), Buffer.from('f\0octet')]))).toBe('mode');
    expect(fieldOf(rrq('f', 'mail'))).toBe('mode');
    expect(fieldOf(rrq('f', 'octet', 'blksize'))).toBe('option[0].value');
    expect(fieldOf(rrq('f', 'octet', 'blksize', '512', 'BLKSIZE', '1024'))).toBe('option[1].name');
    expect(fieldOf(rrq('f', 'octet', '', '1'))).toBe('option[0].name');
    expect(fieldOf(rrq('f', 'octet', 'x'.repeat(40), '1'))).toBe('option[0].name');
    const many = Array.from({ length: 17 }, (_, i) => [`o${i}`, '1']).flat();
    expect(fieldOf(rrq('f', 'octet', ...many))).toBe('options');
    expect(fieldOf(rrq('bad\x01name', 'octet'))).toBe('filename');
    expect(fieldOf(rrq('x'.repeat(300), 'octet'))).toBe('filename');
    expect(fieldOf(Buffer.from([0, 3, 0]))).toBe('block');
    expect(fieldOf(Buffer.from([0, 4, 0]))).toBe('block');
    expect(fieldOf(Buffer.concat([rrq('f', 'octet'), Buffer.alloc(600, 0x41)]))).toBe('request');
  });

  it('accepts an ERROR without terminator and cleans its message', () => {
    const p = decodePacket(Buffer.from([0, 5, 0, 1, 0x6f, 0x6b, 0x07]));
    expect(p).toEqual({ op: Opcode.ERROR, code: 1, message: 'ok?' });
    expect(errorPacket(2, 'x').toString('latin1')).toBe('\0\x05\0\x02x\0');
  });
});

describe('TFTP option negotiation', () => {
  const req = (o: Record<string, string>) => new Map(Object.entries(o));

  it('caps blksize to the configured maximum and answers tsize with the size', () => {
    const n = negotiate(
      req({ blksize: '65464', tsize: '0', timeout: '3', windowsize: '8' }),
      999,
      DEFAULT_LIMITS,
    );
    expect(n).toMatchObject({ blksize: 1468, windowsize: 8, timeoutMs: 3000 });
    expect([...n.oack]).toEqual([
      ['blksize', '1468'],
      ['tsize', '999'],
      ['timeout', '3'],
      ['windowsize', '8'],
    ]);
  });

  it('declines values it cannot honour instead of failing the boot', () => {
    const n = negotiate(
      req({ blksize: '4', timeout: '0', windowsize: '70000', tsize: 'abc', multicast: '' }),
      10,
      DEFAULT_LIMITS,
    );
    expect(n).toMatchObject({
      blksize: 512,
      windowsize: 1,
      timeoutMs: DEFAULT_LIMITS.defaultTimeoutMs,
    });
    expect(n.oack.size).toBe(0);
    expect(negotiate(req({ windowsize: '1000' }), 1, DEFAULT_LIMITS).windowsize).toBe(64);
  });

  it('derives blksize from the MTU', () => {
    expect(blksizeForMtu(1500)).toBe(1468);
    expect(blksizeForMtu(1500, true)).toBe(1448);
    expect(blksizeForMtu(9000)).toBe(8968);
    expect(blksizeForMtu(100)).toBe(512);
  });
});

describe('netascii', () => {
  it('turns LF into CR LF and CR into CR NUL', () => {
    expect(toNetascii(Buffer.from('a\nb\rc'))).toEqual(Buffer.from('a\r\nb\r\0c', 'latin1'));
  });
});
