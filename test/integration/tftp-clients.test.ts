// pxm's TFTP server against the real clients (curl, tftp-hpa, atftp) on loopback, plus
// raw-packet tests for traversal, writes, malformed packets and retransmission.
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../src/server/tftp/server.js';
import { StaticRootHandler } from '../../src/server/tftp/static-root.js';
import { ErrorCode, Opcode, encodePacket } from '../../src/server/tftp/packet.js';
import { all, capable, haveCommand } from '../helpers/capability.js';
import { RawClient, tftpRead } from './tftp-client.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HOST = '127.0.0.1';

let dir: string;
let root: string;
let out: string;
let server: TftpServer;
let port: number;
const files: Record<string, Buffer> = {};

function rrq(
  filename: string,
  options: Record<string, string> = {},
  mode: 'octet' | 'netascii' = 'octet',
): Buffer {
  return encodePacket({
    op: Opcode.RRQ,
    filename,
    mode,
    options: new Map(Object.entries(options)),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-tftp-it-'));
  root = path.join(dir, 'root');
  out = path.join(dir, 'out');
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  mkdirSync(out);
  files['big.bin'] = randomBytes(3 * 1024 * 1024 + 17);
  // 33 MiB + a bit: more than 65535 blocks of 512 bytes, so block numbers roll over.
  files['huge.bin'] = randomBytes(33 * 1024 * 1024 + 100);
  // Exact multiple of 1468 and of 512: the transfer must end with an empty DATA block.
  files['exact.bin'] = randomBytes(1468 * 512);
  files['sub/small.txt'] = Buffer.from('line one\nline two\n');
  files['mid.bin'] = randomBytes(200 * 1024);
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(root, name), data);
  writeFileSync(path.join(dir, 'secret'), 'outside the root');
  symlinkSync('../secret', path.join(root, 'escape'));
  server = new TftpServer(new StaticRootHandler(root), { listen: [{ address: HOST, port: 0 }] });
  await server.start();
  port = server.addresses()[0]!.port;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(capable(haveCommand('curl'), 'curl TFTP tests'))('curl', () => {
  for (const [label, args] of [
    ['default 512', []],
    ['blksize 1468', ['--tftp-blksize', '1468']],
  ] as const) {
    it(`fetches a file intact (${label})`, async () => {
      const dest = path.join(out, `curl-${label.replace(' ', '-')}`);
      for (const name of ['big.bin', 'exact.bin']) {
        const r = await execa('curl', [
          '-sS',
          ...args,
          '-o',
          dest,
          `tftp://${HOST}:${port}/${name}`,
        ]);
        expect(r.exitCode).toBe(0);
        expect(sha(readFileSync(dest))).toBe(sha(files[name]!));
      }
    });
  }

  it('survives block-number rollover (> 65535 blocks)', async () => {
    const dest = path.join(out, 'huge');
    await execa('curl', ['-sS', '-o', dest, `tftp://${HOST}:${port}/huge.bin`]);
    expect(sha(readFileSync(dest))).toBe(sha(files['huge.bin']!));
  });

  it('reports file not found and refuses .. (no secret leaks)', async () => {
    const missing = await execa(
      'curl',
      ['-sS', '-o', path.join(out, 'x'), `tftp://${HOST}:${port}/nope`],
      {
        reject: false,
      },
    );
    expect(missing.exitCode).toBe(68); // curl: TFTP file not found
    const dest = path.join(out, 'traversal');
    const up = await execa(
      'curl',
      ['-sS', '--path-as-is', '-o', dest, `tftp://${HOST}:${port}/../secret`],
      {
        reject: false,
      },
    );
    expect(up.exitCode).toBe(69); // curl: TFTP permission problem
    expect(existsSync(dest) ? readFileSync(dest, 'utf8') : '').not.toContain('outside');
  });
});

describe.runIf(capable(haveCommand('tftp'), 'tftp-hpa client tests'))('tftp-hpa client', () => {
  it('gets a file in binary mode', async () => {
    const dest = path.join(out, 'hpa.bin');
    await execa('tftp', [HOST, String(port), '-m', 'binary', '-c', 'get', 'big.bin', dest]);
    expect(sha(readFileSync(dest))).toBe(sha(files['big.bin']!));
  });

  it('gets a text file in netascii mode with line ends restored', async () => {
    const dest = path.join(out, 'hpa.txt');
    await execa('tftp', [HOST, String(port), '-m', 'ascii', '-c', 'get', 'sub/small.txt', dest]);
    expect(readFileSync(dest, 'utf8')).toBe('line one\nline two\n');
  });

  it('is refused a write and a symlink out of the root', async () => {
    const src = path.join(out, 'upload.txt');
    writeFileSync(src, 'should never arrive');
    const put = await execa(
      'tftp',
      [HOST, String(port), '-m', 'binary', '-c', 'put', src, 'upload.txt'],
      {
        reject: false,
      },
    );
    expect(`${put.stdout}${put.stderr}`).toMatch(/Access violation|read-only/i);
    expect(existsSync(path.join(root, 'upload.txt'))).toBe(false);
    const dest = path.join(out, 'escape');
    const esc = await execa(
      'tftp',
      [HOST, String(port), '-m', 'binary', '-c', 'get', 'escape', dest],
      {
        reject: false,
      },
    );
    expect(`${esc.stdout}${esc.stderr}`).toMatch(/Access violation|escapes/i);
    expect(existsSync(dest) ? readFileSync(dest, 'utf8') : '').not.toContain('outside');
  });
});

describe.runIf(capable(haveCommand('atftp'), 'atftp client tests'))('atftp with windowsize', () => {
  for (const w of [8, 64]) {
    it(`fetches intact with blksize 1468, windowsize ${w}`, async () => {
      const dest = path.join(out, `atftp-${w}`);
      const r = await execa('atftp', [
        '--option',
        'blksize 1468',
        '--option',
        `windowsize ${w}`,
        '--option',
        'tsize 0',
        '-g',
        '-r',
        'huge.bin',
        '-l',
        dest,
        HOST,
        String(port),
      ]);
      expect(r.exitCode).toBe(0);
      expect(sha(readFileSync(dest))).toBe(sha(files['huge.bin']!));
    });
  }
});

describe('protocol details (raw packets)', () => {
  it('acknowledges tsize, blksize, timeout and windowsize in an OACK', async () => {
    const r = await tftpRead(HOST, port, 'mid.bin', {
      tsize: '0',
      blksize: '1468',
      timeout: '3',
      windowsize: '16',
    });
    if ('error' in r) throw new Error(r.error.message);
    expect(sha(r.data)).toBe(sha(files['mid.bin']!));
    expect(Object.fromEntries(r.oack ?? [])).toEqual({
      tsize: String(files['mid.bin']!.length),
      blksize: '1468',
      timeout: '3',
      windowsize: '16',
    });
  });

  it('caps an absurd blksize instead of fragmenting', async () => {
    const r = await tftpRead(HOST, port, 'mid.bin', { blksize: '65464' });
    if ('error' in r) throw new Error(r.error.message);
    expect(r.oack?.get('blksize')).toBe('1468');
    expect(sha(r.data)).toBe(sha(files['mid.bin']!));
  });

  it('refuses WRQ with access violation and absolute paths outside the root', async () => {
    const c = await RawClient.open(HOST);
    try {
      c.send(
        encodePacket({ op: Opcode.WRQ, filename: 'x', mode: 'octet', options: new Map() }),
        port,
        HOST,
      );
      expect((await c.next())?.packet).toMatchObject({
        op: Opcode.ERROR,
        code: ErrorCode.ACCESS_VIOLATION,
      });
      c.send(rrq('/etc/passwd'), port, HOST);
      expect((await c.next())?.packet).toMatchObject({
        op: Opcode.ERROR,
        code: ErrorCode.FILE_NOT_FOUND,
      });
      c.send(rrq('sub/../../secret'), port, HOST);
      expect((await c.next())?.packet).toMatchObject({
        op: Opcode.ERROR,
        code: ErrorCode.ACCESS_VIOLATION,
      });
    } finally {
      c.close();
    }
  });

  it('answers malformed packets with error 4 and keeps serving', async () => {
    const c = await RawClient.open(HOST);
    const bad: Buffer[] = [
      Buffer.alloc(0), // zero-length
      Buffer.from([0]), // truncated opcode
      Buffer.from([0, 99, 1, 2, 3]), // bad opcode
      Buffer.from([0, 1, 0x61, 0x62]), // unterminated filename
      Buffer.concat([Buffer.from([0, 1]), Buffer.from('f\0octet')]), // unterminated mode
      Buffer.concat([Buffer.from([0, 1]), Buffer.from('f\0mail\0')]), // bad mode
      Buffer.concat([Buffer.from([0, 1]), Buffer.from('f\0octet\0blksize\0')]), // option without value
      Buffer.concat([Buffer.from([0, 1]), Buffer.from('f\0octet\0blksize\x008\0BLKSIZE\x009\0')]), // duplicate
      Buffer.concat([Buffer.from([0, 1]), Buffer.from(`f\0octet\0${'o\x001\0'.repeat(40)}`)]), // too many
      Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(1000, 0x41), Buffer.from([0])]), // oversized
    ];
    try {
      for (const b of bad) {
        c.send(b, port, HOST);
        const r = await c.next();
        expect(r?.packet, `reply to ${b.toString('hex').slice(0, 40)}`).toMatchObject({
          op: Opcode.ERROR,
          code: ErrorCode.ILLEGAL_OPERATION,
        });
      }
      // an ERROR sent to the server gets no answer (no error ping-pong)
      c.send(Buffer.from([0, 5, 0, 0, 0]), port, HOST);
      expect(await c.drain(300)).toEqual([]);
    } finally {
      c.close();
    }
    const r = await tftpRead(HOST, port, 'big.bin', { blksize: '1468' });
    if ('error' in r) throw new Error(r.error.message);
    expect(sha(r.data)).toBe(sha(files['big.bin']!));
  });

  it("retransmits on silence but never on a duplicate ACK (Sorcerer's Apprentice)", async () => {
    const c = await RawClient.open(HOST);
    try {
      c.send(rrq('mid.bin', { timeout: '2' }), port, HOST);
      const oack = await c.next();
      expect(oack?.packet.op).toBe(Opcode.OACK);
      c.send(encodePacket({ op: Opcode.ACK, block: 0 }), oack!.port, HOST);
      const d1 = await c.next();
      expect(d1?.packet).toMatchObject({ op: Opcode.DATA, block: 1 });
      // say nothing: the server must send block 1 again after its timeout
      const again = await c.next(10_000);
      expect(again?.packet).toMatchObject({ op: Opcode.DATA, block: 1 });
      // ACK 1 twice: exactly one DATA 2 may come back before the next timeout
      c.send(encodePacket({ op: Opcode.ACK, block: 1 }), oack!.port, HOST);
      c.send(encodePacket({ op: Opcode.ACK, block: 1 }), oack!.port, HOST);
      const first = await c.next();
      expect(first?.packet).toMatchObject({ op: Opcode.DATA, block: 2 });
      c.send(encodePacket({ op: Opcode.ACK, block: 2 }), oack!.port, HOST);
      c.send(encodePacket({ op: Opcode.ACK, block: 1 }), oack!.port, HOST); // stale
      const rest = await c.next();
      expect(rest?.packet).toMatchObject({ op: Opcode.DATA, block: 3 });
      // packets seen before block 3's timeout: none of them a second DATA 2 or 3
      const extra = (await c.drain(400)).map((r) => r.packet);
      expect(extra.filter((p) => p.op === Opcode.DATA)).toEqual([]);
      c.send(encodePacket({ op: Opcode.ERROR, code: 0, message: 'bye' }), oack!.port, HOST);
    } finally {
      c.close();
    }
  });

  it('serves 200 concurrent transfers to completion', async () => {
    const want = sha(files['mid.bin']!);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        tftpRead(
          HOST,
          port,
          'mid.bin',
          i % 2 ? { blksize: '1468', windowsize: '8' } : { blksize: '1468' },
        ),
      ),
    );
    const good = results.filter((r) => 'data' in r && sha(r.data) === want).length;
    expect(good).toBe(200);
  });
});

describe.runIf(capable(all(haveCommand('curl')), 'IPv6 TFTP test'))('IPv6', () => {
  it('serves over a udp6 socket', async () => {
    const s6 = new TftpServer(new StaticRootHandler(root), {
      listen: [{ address: '::1', port: 0 }],
    });
    try {
      await s6.start();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' && !process.env.CI) return; // no IPv6 here
      throw e;
    }
    try {
      const p6 = s6.addresses()[0]!.port;
      const dest = path.join(out, 'v6.bin');
      await execa('curl', [
        '-sS',
        '--tftp-blksize',
        '1468',
        '-o',
        dest,
        `tftp://[::1]:${p6}/big.bin`,
      ]);
      expect(sha(readFileSync(dest))).toBe(sha(files['big.bin']!));
    } finally {
      await s6.close();
    }
  });
});
