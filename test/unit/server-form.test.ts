import { describe, expect, it } from 'vitest';
import { field, parseForm, parseMultipart } from '../../src/server/http/form.js';
import { HttpError } from '../../src/server/http/core.js';

// A body as MAAS's commissioning helper (python's email/requests style) sends it.
const B = '----pxmBoundary123';
const body = Buffer.concat([
  Buffer.from(
    `--${B}\r\nContent-Disposition: form-data; name="op"\r\n\r\nsignal\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="status"\r\n\r\nWORKING\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="00-maas-01-lshw.out"; filename="00-maas-01-lshw.out"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  ),
  Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 255]), // binary, with CRLF-- inside
  Buffer.from(`\r\n--${B}--\r\n`),
]);

describe('form parsing', () => {
  it('parses multipart fields and binary file parts exactly', () => {
    const f = parseMultipart(body, `multipart/form-data; boundary=${B}`);
    expect(field(f, 'op')).toBe('signal');
    expect(field(f, 'status')).toBe('WORKING');
    expect(f.files).toHaveLength(1);
    expect(f.files[0]?.filename).toBe('00-maas-01-lshw.out');
    expect([...(f.files[0]?.data ?? [])]).toEqual([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 255]);
  });

  it('parses urlencoded bodies with repeated keys, and takes op from the query string', () => {
    const f = parseForm(
      Buffer.from(
        'mac_addresses=52%3A54%3A00%3A00%3A00%3A01&mac_addresses=aa-bb-cc-dd-ee-ff&hostname=a+b',
      ),
      'application/x-www-form-urlencoded',
      new URLSearchParams('op=new'),
    );
    expect(f.fields.get('mac_addresses')).toEqual(['52:54:00:00:00:01', 'aa-bb-cc-dd-ee-ff']);
    expect(field(f, 'hostname')).toBe('a b');
    expect(field(f, 'op')).toBe('new');
  });

  it('rejects a truncated multipart body with 400', () => {
    const cut = body.subarray(0, body.length - 20);
    let err: unknown;
    try {
      parseMultipart(cut, `multipart/form-data; boundary=${B}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
  });
});
