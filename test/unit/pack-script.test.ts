// The rendered installer's self-description: offsets, line count and hashes agree
// with the bytes actually written.
import { describe, expect, it } from 'vitest';
import { renderInstaller, sha256hex, shQuote } from '../../src/pack/script.js';
import { MARKER } from '../../src/pack/extractor.sh.js';

const fields = { runtime: 'none' as const, nodeMin: { major: 20, minor: 19 } };

function field(text: string, name: string): string {
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  if (!m?.[1]) throw new Error(`no ${name}`);
  return m[1];
}

describe('renderInstaller', () => {
  for (const size of [0, 1, 1000, 123_457]) {
    it(`states its own offsets and hashes (payload ${size} bytes)`, () => {
      const payload = Buffer.alloc(size, 0xa5);
      const out = renderInstaller(fields, payload);
      const offset = Number(field(out.toString('latin1'), 'PXM_PAYLOAD_OFFSET'));
      const head = out.subarray(0, offset).toString('utf8');
      expect(out.subarray(offset).equals(payload)).toBe(true);
      expect(Number(field(head, 'PXM_PAYLOAD_SIZE'))).toBe(size);
      expect(field(head, 'PXM_PAYLOAD_SHA256')).toBe(sha256hex(payload));
      const lines = head.split('\n');
      const n = Number(field(head, 'PXM_HEAD_LINES'));
      expect(lines).toHaveLength(n + 1); // the head ends with a newline
      expect(lines[n - 1]).toBe(MARKER);
      const covered = [...lines.slice(0, 2), ...lines.slice(3, n)].map((l) => `${l}\n`).join('');
      expect(lines[2]).toBe(`PXM_HEAD_SHA256=${sha256hex(covered)}`);
      // The head carries no packed text: only the fixed extractor, numbers and hashes.
      expect(head).not.toMatch(/pxm install|PXM_END_OF_INFO/);
    });
  }

  it('changes the head hash when the runtime changes, not the payload hash', () => {
    const a = renderInstaller(fields, Buffer.from('x')).toString();
    const b = renderInstaller({ ...fields, runtime: 'xz' }, Buffer.from('x')).toString();
    expect(field(a, 'PXM_HEAD_SHA256')).not.toBe(field(b, 'PXM_HEAD_SHA256'));
    expect(field(a, 'PXM_PAYLOAD_SHA256')).toBe(field(b, 'PXM_PAYLOAD_SHA256'));
  });
});

describe('shQuote', () => {
  it('leaves plain words and quotes the rest', () => {
    expect(shQuote('pxm')).toBe('pxm');
    expect(shQuote('a b')).toBe(`'a b'`);
    expect(shQuote(`it's $HOME`)).toBe(`'it'\\''s $HOME'`);
  });
});
