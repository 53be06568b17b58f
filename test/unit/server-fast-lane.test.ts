// The fast lane in front of pxm's HTTP listener (src/server/http/fast-lane.ts), over real
// loopback connections with hand-written request bytes: simple GETs are answered by the
// lane's handler, and everything else reaches node:http intact and in order, on the
// same connection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { HttpServer, send, textAnswer } from '../../src/server/http/core.js';
import { parseSimpleHead } from '../../src/server/http/fast-lane.js';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses whole HTTP/1.1 replies (Content-Length bodies) off the front of `buf`. */
function takeReplies(buf: string): { replies: Reply[]; rest: string } {
  const replies: Reply[] = [];
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = buf.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const len = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + len) break;
    replies.push({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: buf.slice(end + 4, end + 4 + len),
    });
    buf = buf.slice(end + 4 + len);
  }
  return { replies, rest: buf };
}

/** One client connection: write raw bytes, wait for N replies or the close. */
class Client {
  private readonly sock: net.Socket;
  private buf = '';
  /** Every byte received, for replies without a body (HEAD). */
  raw = '';
  readonly replies: Reply[] = [];
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.setEncoding('latin1');
    this.sock.on('data', (d: string) => {
      this.raw += d;
      const { replies, rest } = takeReplies(this.buf + d);
      this.buf = rest;
      this.replies.push(...replies);
      this.wake();
    });
    this.sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.sock.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(s: string): void {
    this.sock.write(s, 'latin1');
  }

  async until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async replyCount(n: number): Promise<Reply[]> {
    await this.until(() => this.replies.length >= n || this.closed, `${n} replies`);
    return this.replies;
  }

  end(): void {
    this.sock.destroy();
  }
}

// Larger than what the lane writes in one piece with its head.
const BIG = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7919) % 256));
let server: HttpServer;
let port: number;
/** What the lane's handler saw, read during the call (the request's bytes are not kept). */
interface Seen {
  target: string;
  remote: string;
  authorization?: string;
  mixedCase?: string;
}
let laneSaw: Seen[];
let nodeSaw: string[];
const clients: Client[] = [];

function client(): Client {
  const c = new Client(port);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  laneSaw = [];
  nodeSaw = [];
  server = new HttpServer();
  // node:http's side: echoes method, path and body, marked so a test sees who answered.
  server.mount('/', async (ctx) => {
    const body = (await ctx.body(1 << 20)).toString();
    nodeSaw.push(`${ctx.method} ${ctx.req.url}`);
    return send(ctx.res, 200, `node ${ctx.method} ${ctx.req.url} ${body}`, { 'X-By': 'node' });
  });
  server.fast((req) => {
    if (req.target === '/throws') throw new Error('handler bug');
    if (req.target === '/fast/big') return textAnswer(200, BIG, { 'X-By': 'lane' });
    if (req.target === '/fast/utf8') return textAnswer(200, 'grüße ✓', { 'X-By': 'lane' });
    if (!req.target.startsWith('/fast/')) return undefined;
    laneSaw.push({
      target: req.target,
      remote: req.remote,
      authorization: req.header('authorization'),
      mixedCase: req.header('x-mixed-case'),
    });
    return textAnswer(200, `lane ${req.target}`, { 'X-By': 'lane' });
  });
  port = (await server.listen(0, '127.0.0.1')).port;
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.end();
  await server.close();
});

const get = (target: string, extra = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

describe('the fast lane', () => {
  it('answers a simple GET itself, with the headers node:http would send', async () => {
    const c = client();
    c.write(get('/fast/a', 'Authorization: OAuth x="1"\r\nX-Mixed-Case:  v \r\n'));
    const [r] = await c.replyCount(1);
    expect(r).toMatchObject({ status: 200, body: 'lane /fast/a' });
    expect(r!.headers).toMatchObject({
      'x-by': 'lane',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String('lane /fast/a'.length),
      connection: 'keep-alive',
      'keep-alive': 'timeout=65',
    });
    expect(Date.parse(r!.headers.date!)).toBeGreaterThan(Date.now() - 60_000);
    const seen = laneSaw[0]!;
    expect(seen.remote).toBe('127.0.0.1');
    expect(seen.authorization).toBe('OAuth x="1"');
    expect(seen.mixedCase).toBe('v');
  });

  it('keeps the connection: sequential and pipelined requests are answered in order', async () => {
    const c = client();
    c.write(get('/fast/1'));
    await c.replyCount(1);
    c.write(get('/fast/2') + get('/fast/3') + get('/fast/4'));
    const rs = await c.replyCount(4);
    expect(rs.map((r) => r.body)).toEqual([
      'lane /fast/1',
      'lane /fast/2',
      'lane /fast/3',
      'lane /fast/4',
    ]);
    expect(c.closed).toBe(false);
  });

  it('sends large Buffer and non-ASCII bodies byte for byte, also pipelined', async () => {
    const c = client();
    c.write(get('/fast/big') + get('/fast/utf8') + get('/fast/x') + get('/fast/big'));
    const rs = await c.replyCount(4);
    const bytes = (r: Reply): Buffer => Buffer.from(r.body, 'latin1');
    expect(bytes(rs[0]!).equals(BIG)).toBe(true);
    expect(bytes(rs[1]!).toString('utf8')).toBe('grüße ✓');
    expect(rs[1]!.headers['content-length']).toBe(String(Buffer.byteLength('grüße ✓')));
    expect(rs[2]!.body).toBe('lane /fast/x');
    expect(bytes(rs[3]!).equals(BIG)).toBe(true);
  });

  it('waits for a head that arrives a byte at a time', async () => {
    const c = client();
    for (const ch of get('/fast/slow')) {
      c.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    const [r] = await c.replyCount(1);
    expect(r!.body).toBe('lane /fast/slow');
  });

  it('hands a declined request to node:http with its body, and the connection stays there', async () => {
    const c = client();
    c.write(get('/fast/first'));
    await c.replyCount(1);
    // A POST whose body arrives in a later packet.
    c.write('POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n01234');
    await new Promise((r) => setTimeout(r, 50));
    c.write('56789');
    await c.replyCount(2);
    // After the hand-over even a lane-shaped request is node:http's.
    c.write(get('/fast/after'));
    const rs = await c.replyCount(3);
    expect(rs.map((r) => [r.headers['x-by'], r.body])).toEqual([
      ['lane', 'lane /fast/first'],
      ['node', 'node POST /form 0123456789'],
      ['node', 'node GET /fast/after '],
    ]);
  });

  it('keeps pipelined answers in order across the hand-over', async () => {
    const c = client();
    c.write(
      get('/fast/a') +
        'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc' +
        get('/fast/b'),
    );
    const rs = await c.replyCount(3);
    expect(rs.map((r) => r.body)).toEqual([
      'lane /fast/a',
      'node POST /p abc',
      'node GET /fast/b ',
    ]);
  });

  it.each([
    ['a query string', 'GET /fast/q?x=1 HTTP/1.1\r\nHost: h\r\n\r\n', 200],
    ['HTTP/1.0', 'GET /fast/old HTTP/1.0\r\nHost: h\r\n\r\n', 200],
    ['Connection: close', get('/fast/c', 'Connection: close\r\n'), 200],
    ['a repeated header', get('/fast/d', 'Host: other\r\n'), 200],
    ['no Host', 'GET /fast/nohost HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
    ['an obs-folded header', get('/fast/f', 'X-A: 1\r\n continued\r\n'), 400],
    ['a bare LF', 'GET /fast/lf HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n', 400],
    ['a space before the colon', get('/fast/s', 'X-A : 1\r\n'), 400],
    ['a control byte', get('/fast/ctl', 'X-A: a\x01b\r\n'), 400],
    ['Transfer-Encoding', get('/fast/te', 'Transfer-Encoding: chunked\r\n') + '0\r\n\r\n', 200],
  ])('gives %s to node:http', async (_what, bytes, status) => {
    const c = client();
    c.write(bytes);
    const [r] = await c.replyCount(1);
    expect(laneSaw).toEqual([]);
    expect(r?.status).toBe(status);
    if (status === 200) expect(r!.headers['x-by']).toBe('node');
  });

  it('gives a HEAD to node:http', async () => {
    const c = client();
    c.write('HEAD /fast/h HTTP/1.1\r\nHost: h\r\n\r\n');
    await c.until(() => c.raw.includes('\r\n\r\n'), 'the reply head');
    expect(c.raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.raw).toContain('X-By: node');
    expect(laneSaw).toEqual([]);
  });

  it('gives a head over 16 KiB to node:http, which refuses it (431)', async () => {
    const c = client();
    c.write(get('/fast/big', `X-Big: ${'a'.repeat(20_000)}\r\n`));
    const [r] = await c.replyCount(1);
    expect(r?.status).toBe(431);
    expect(laneSaw).toEqual([]);
  });

  it('lets node:http answer when the handler throws', async () => {
    const c = client();
    c.write(get('/throws'));
    const [r] = await c.replyCount(1);
    expect(r).toMatchObject({ status: 200, body: 'node GET /throws ' });
  });

  it('answers 408 to a head still incomplete after the headers timeout, however it trickles', async () => {
    await server.close();
    server = new HttpServer();
    server.fast(() => textAnswer(200, 'lane'));
    server.server.headersTimeout = 300;
    port = (await server.listen(0, '127.0.0.1')).port;
    const c = client();
    c.write('GET /fast/t HTTP/1.1\r\n');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c.write(`X-${i}: ${i}\r\n`); // activity, but the head never ends
    }
    await c.until(() => c.closed, 'the close');
    expect(c.raw).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes idle lane connections on shutdown', async () => {
    const c = client();
    c.write(get('/fast/x'));
    await c.replyCount(1);
    await server.close();
    await c.until(() => c.closed, 'the close');
    // afterEach closes again: close() must be safe twice.
  });

  it('closes handed-off connections on shutdown: idle ones at once, a stalled download after the grace', async () => {
    await server.close();
    server = new HttpServer();
    server.fast(() => undefined);
    const payload = Buffer.alloc(64 << 20, 1);
    server.mount('/', (ctx) => send(ctx.res, 200, ctx.path === '/big' ? payload : 'small'));
    port = (await server.listen(0, '127.0.0.1')).port;
    const idle = client();
    idle.write(get('/small'));
    await idle.replyCount(1);
    // A client that asks for a large answer and never reads it (a machine that died
    // mid-download): node:http's side must not hold the shutdown.
    const stalled = net.connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    stalled.pause();
    stalled.write(get('/big'));
    let received = 0;
    stalled.on('data', (d: Buffer) => (received += d.length));
    const stalledClosed = new Promise((r) => stalled.once('close', r));
    await new Promise((r) => setTimeout(r, 200));
    // Resolves only once every connection has ended (the test's timeout says if not).
    await server.close();
    await idle.until(() => idle.closed, 'the idle connection to close');
    stalled.resume();
    await stalledClosed;
    expect(received).toBeLessThan(payload.length);
  }, 20_000);

  it("applies node:http's request timeout to a handed-off request whose body stops coming", async () => {
    await server.close();
    server = new HttpServer();
    server.fast(() => undefined);
    server.mount('/', async (ctx) => send(ctx.res, 200, await ctx.body(1024)));
    server.server.requestTimeout = 300;
    server.server.headersTimeout = 300;
    // How often node:http checks its connections' timeouts (30 s by default; a
    // constructor option, read again when tracking starts).
    Object.assign(server.server, { connectionsCheckingInterval: 50 });
    port = (await server.listen(0, '127.0.0.1')).port;
    const c = client();
    c.write('POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123');
    await c.until(() => c.closed, 'the close');
    expect(c.raw).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('parseSimpleHead', () => {
  it('reads the target and headers (any case, spaces and tabs trimmed) of a simple head', () => {
    const h = parseSimpleHead(
      'GET /a/b HTTP/1.1\r\nHost: h\r\nX-Y:\tz \r\nConnection: Keep-Alive',
    )!;
    expect(h.target).toBe('/a/b');
    expect([h.header('host'), h.header('x-y'), h.header('connection')]).toEqual([
      'h',
      'z',
      'Keep-Alive',
    ]);
    expect(h.header('x-absent')).toBeUndefined();
    expect(parseSimpleHead('GET / HTTP/1.1\r\nHost:\r\nX-Empty:  ')!.header('x-empty')).toBe('');
  });

  it('reads a head inside a larger buffer by its offsets', () => {
    const buf = Buffer.from('xxGET /p HTTP/1.1\r\nhOsT: a\r\n\r\nGET /q HTTP/1.1');
    const h = parseSimpleHead(buf, 2, buf.indexOf('\r\n\r\n'))!;
    expect([h.target, h.header('host')]).toEqual(['/p', 'a']);
  });

  it.each([
    'POST /a HTTP/1.1\r\nHost: h',
    'GET http://h/a HTTP/1.1\r\nHost: h',
    'GET /a HTTP/1.0\r\nHost: h',
    'GET /a?q=1 HTTP/1.1\r\nHost: h',
    'GET /a#frag HTTP/1.1\r\nHost: h',
    'GET /a HTTP/1.1',
    'GET /a HTTP/1.1\r\nX: y',
    'GET /a HTTP/1.1\r\nHost: h\r\nhost: h',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2',
    'GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0',
    'GET /a HTTP/1.1\r\nHost: h\r\nTRANSFER-ENCODING: chunked',
    'GET /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue',
    'GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket',
    'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close',
    'GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade',
    'GET /a HTTP/1.1\r\nHost: h\r\n: empty-name',
    'GET /a HTTP/1.1\r\nHost: h\r\nX A: space in name',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A : space before colon',
    'GET /a HTTP/1.1\r\nHost: h\r\n folded',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\rb',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\nb',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\x00b',
    'GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\x7fb',
    'GET /a HTTP/1.1\nHost: h',
    'GET /a HTTP/1.1\r\nHost: h\r\nNo-colon',
    'GET /a HTTP/1.1\r\n' +
      Array.from({ length: 65 }, (_, i) => `X-${i}: v`).join('\r\n') +
      '\r\nHost: h',
  ])('declines %j', (head) => {
    expect(parseSimpleHead(head)).toBeUndefined();
  });

  it('takes obs-text in a value and every visible byte of a path', () => {
    const h = parseSimpleHead(
      "GET /a-b_c.d~e!$&'()*+,;=:@%41 HTTP/1.1\r\nHost: h\r\nX-Latin1: gr\xfc\xdfe",
    )!;
    expect(h.target).toBe("/a-b_c.d~e!$&'()*+,;=:@%41");
    expect(h.header('x-latin1')).toBe('gr\xfc\xdfe');
  });
});
