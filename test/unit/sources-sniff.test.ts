// peek() must hand back a short stream whole: an archive smaller than SNIFF_BYTES is read
// to its end while sniffing, and the bytes must still reach the decompressor afterwards.
import { describe, it, expect, afterAll } from 'vitest';
import { createReadStream, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { SNIFF_BYTES, detectCompression, looksLikeTar, peek } from '../../src/sources/sniff.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pxm-sniff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A .tgz holding one small file; gzip makes it far smaller than SNIFF_BYTES. */
async function tinyTgz(): Promise<string> {
  const src = path.join(dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'hello.txt'), 'hello from a tiny archive\n');
  const file = path.join(dir, 'tiny.tgz');
  await tar.c({ gzip: true, file, cwd: src, portable: true }, ['hello.txt']);
  return file;
}

describe('peek', () => {
  it('returns the head of a tiny .tgz and leaves every byte in the stream', async () => {
    const file = await tinyTgz();
    const size = statSync(file).size;
    expect(size).toBeLessThan(SNIFF_BYTES);

    const stream = createReadStream(file);
    const head = await peek(stream, SNIFF_BYTES);
    expect(head.length).toBe(size);
    expect(detectCompression(head)).toBe('gzip');

    const out = path.join(dir, 'out');
    mkdirSync(out);
    await pipeline(stream, createGunzip(), tar.x({ cwd: out }));
    expect(readFileSync(path.join(out, 'hello.txt'), 'utf8')).toBe('hello from a tiny archive\n');
  });

  it('returns exactly n bytes of a longer stream and keeps the rest readable', async () => {
    const file = path.join(dir, 'plain.tar');
    const src = path.join(dir, 'src2');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'x'.repeat(5000));
    await tar.c({ file, cwd: src, portable: true }, ['a.txt']);

    const stream = createReadStream(file, { highWaterMark: 100 });
    const head = await peek(stream, SNIFF_BYTES);
    expect(head.length).toBe(SNIFF_BYTES);
    expect(looksLikeTar(head)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(readFileSync(file))).toBe(true);
  });

  it('returns an empty head for an empty stream', async () => {
    const file = path.join(dir, 'empty');
    writeFileSync(file, '');
    const stream = createReadStream(file);
    const head = await peek(stream, SNIFF_BYTES);
    expect(head.length).toBe(0);
  });
});
