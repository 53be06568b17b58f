// Form bodies as MAAS clients send them: multipart/form-data (signals with result files,
// enlistment from curl -F) and application/x-www-form-urlencoded. A small parser: the
// bodies are size-limited before parsing and only these two encodings exist here.
import { HttpError } from './core.js';

export interface FormFile {
  field: string;
  filename: string;
  data: Buffer;
}

export interface Form {
  fields: Map<string, string[]>;
  files: FormFile[];
}

export function field(form: Form, name: string): string | undefined {
  return form.fields.get(name)?.[0];
}

function add(form: Form, name: string, value: string): void {
  const list = form.fields.get(name);
  if (list) list.push(value);
  else form.fields.set(name, [value]);
}

export function parseUrlEncoded(body: string, into: Form = { fields: new Map(), files: [] }): Form {
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      add(
        into,
        decodeURIComponent(k.replace(/\+/g, ' ')),
        decodeURIComponent(v.replace(/\+/g, ' ')),
      );
    } catch {
      throw new HttpError(400, `form field ${JSON.stringify(k)}: bad percent-encoding`);
    }
  }
  return into;
}

function boundaryOf(contentType: string): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b || b.length > 200) throw new HttpError(400, 'multipart body without a boundary');
  return b;
}

function headerParam(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${name}=([^;\\s]+)`, 'i').exec(
    header,
  );
  return m ? (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1') : undefined;
}

export function parseMultipart(body: Buffer, contentType: string): Form {
  const form: Form = { fields: new Map(), files: [] };
  const delim = Buffer.from(`--${boundaryOf(contentType)}`);
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'multipart body: boundary not found');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    // skip CRLF after the delimiter
    if (body[pos] === 0x0d) pos++;
    if (body[pos] === 0x0a) pos++;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw new HttpError(400, 'multipart part without a header end');
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw new HttpError(400, 'multipart body: unterminated part');
    const data = body.subarray(headEnd + 4, next);
    const disposition = head.split(/\r\n/).find((l) => /^content-disposition:/i.test(l)) ?? '';
    const name = headerParam(disposition, 'name');
    if (name === undefined) throw new HttpError(400, 'multipart part without a name');
    const filename = headerParam(disposition, 'filename');
    if (filename !== undefined) form.files.push({ field: name, filename, data: Buffer.from(data) });
    else add(form, name, data.toString('utf8'));
    pos = next + 2;
  }
  return form;
}

export function parseForm(
  body: Buffer,
  contentType: string | undefined,
  query: URLSearchParams,
): Form {
  const ct = (contentType ?? '').toLowerCase();
  let form: Form;
  if (ct.startsWith('multipart/form-data')) form = parseMultipart(body, contentType ?? '');
  else form = parseUrlEncoded(body.toString('utf8'));
  // MAAS clients put `op` in the query string as often as in the body.
  for (const [k, v] of query) if (!form.fields.has(k)) add(form, k, v);
  return form;
}
