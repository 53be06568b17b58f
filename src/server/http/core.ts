// A minimal HTTP layer on node:http: mounts (prefix -> handler), body limits, and
// errors that become a clear status and reason. Other listeners (boot config rendering,
// image files) plug in with `mount()`.
import { chmodSync, unlinkSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { FastLane, type FastAnswer, type FastHandler } from './fast-lane.js';

/**
 * The client's address as an HTTP worker saw it, on requests it passes to the main
 * process (src/server/workers/). Trusted only on the internal Unix socket (0600, the
 * server's own user): on the public listener it is an ordinary header and ignored.
 */
export const REMOTE_HEADER = 'x-pxm-remote';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** Decoded, normalised path (no `..`, no `//`); never used as a file path unconfined. */
  path: string;
  /** The peer's address (IPv4-mapped IPv6 unwrapped). Proxies are not trusted. */
  remote: string;
  body(limit: number): Promise<Buffer>;
}

/** Returns true when it answered, false to let the next mount try. */
export type Handler = (ctx: HttpContext) => Promise<boolean> | boolean;

const PLAIN_PATH = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?$/;

export function normalisePath(raw: string): string {
  // Fast path: nothing to decode and no dot or empty segments.
  if (PLAIN_PATH.test(raw) && !raw.includes('/..') && raw !== '') return raw;
  let p: string;
  try {
    p = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad percent-encoding in path');
  }
  if (p.includes('\0')) throw new HttpError(400, 'NUL in path');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  // Keep a trailing slash: MAAS distinguishes listings (`meta-data/`) from files.
  return '/' + out.join('/') + (p.endsWith('/') && out.length ? '/' : '');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, `request body over ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const TEXT_PLAIN: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/plain; charset=utf-8',
});
const withTextDefault = new WeakMap<object, Readonly<Record<string, string>>>();

/**
 * An answer with pxm's default Content-Type (plain UTF-8 text) unless `headers` sets one.
 * Pass a frozen `headers` object that is used again and again (a module constant): the
 * merged headers are then made once, and the fast lane checks and formats them once.
 */
export function textAnswer(
  status: number,
  body: string | Buffer = '',
  headers?: Readonly<Record<string, string>>,
): FastAnswer {
  if (!headers) return { status, body, headers: TEXT_PLAIN };
  if (!Object.isFrozen(headers)) return { status, body, headers: { ...TEXT_PLAIN, ...headers } };
  let merged = withTextDefault.get(headers);
  if (!merged) {
    merged = Object.freeze({ ...TEXT_PLAIN, ...headers });
    withTextDefault.set(headers, merged);
  }
  return { status, body, headers: merged };
}

export function sendAnswer(res: ServerResponse, a: FastAnswer): boolean {
  res.writeHead(a.status, {
    ...a.headers,
    'Content-Length': String(
      typeof a.body === 'string' ? Buffer.byteLength(a.body) : a.body.length,
    ),
  });
  // A string body leaves node:http one write() with the headers; a Buffer costs a writev.
  res.end(a.body);
  return true;
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer = '',
  headers: Record<string, string> = {},
): boolean {
  return sendAnswer(res, textAnswer(status, body, headers));
}

export function sendJson(res: ServerResponse, status: number, value: unknown): boolean {
  return send(res, status, JSON.stringify(value) + '\n', { 'Content-Type': 'application/json' });
}

function unmapped(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** The client address an HTTP worker put on a request it passed over the internal socket. */
function forwardedRemote(req: IncomingMessage): string {
  const v = req.headers[REMOTE_HEADER];
  if (typeof v !== 'string' || !isIP(v))
    throw new HttpError(400, `internal request without a valid ${REMOTE_HEADER}`);
  return unmapped(v);
}

/** One per request: a class (not a literal with closures) keeps it cheap and monomorphic. */
class RequestContext implements HttpContext {
  readonly method: string;
  readonly path: string;
  readonly remote: string;
  private readonly raw: string;
  private parsed: URL | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    internal: boolean,
  ) {
    this.raw = req.url ?? '/';
    const q = this.raw.indexOf('?');
    this.path = normalisePath(q < 0 ? this.raw : this.raw.slice(0, q));
    this.method = req.method ?? 'GET';
    this.remote = internal ? forwardedRemote(req) : unmapped(req.socket.remoteAddress ?? '');
  }

  /** A URL object costs more than the rest of a metadata answer: built on first use. */
  get url(): URL {
    this.parsed ??= new URL(
      this.raw.startsWith('/') ? this.raw : '/' + this.raw,
      'http://pxm.invalid',
    );
    return this.parsed;
  }

  body(limit: number): Promise<Buffer> {
    return readBody(this.req, limit);
  }
}

export interface Mount {
  prefix: string;
  handler: Handler;
}

export interface HttpLog {
  (line: string): void;
}

export class HttpServer {
  private readonly mounts: Mount[] = [];
  readonly server: http.Server;
  /** The listener for requests HTTP workers pass on (listenInternal), if any. */
  private internal: http.Server | undefined;
  private fastHandler: FastHandler | undefined;
  /** With a fast handler, the public listener is the fast lane in front of `server`. */
  private lane: FastLane | undefined;

  constructor(private readonly log: HttpLog = () => {}) {
    this.server = http.createServer((req, res) => {
      void this.dispatch(req, res, false);
    });
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 120_000;
  }

  /**
   * Puts the fast lane (fast-lane.ts) in front of the public listener: `handler` answers
   * the simple requests it can answer at once from memory, and declines (undefined) the
   * rest, which the mounts answer as usual. It must give the answer the mounts would.
   */
  fast(handler: FastHandler): void {
    this.fastHandler = handler;
  }

  /** Requests whose path starts with `prefix` go to `handler`, in mount order. */
  mount(prefix: string, handler: Handler): void {
    this.mounts.push({ prefix, handler });
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    internal: boolean,
  ): Promise<void> {
    try {
      const ctx = new RequestContext(req, res, internal);
      for (const m of this.mounts) {
        if (ctx.path.startsWith(m.prefix) || ctx.path + '/' === m.prefix) {
          if (await m.handler(ctx)) return;
        }
      }
      throw new HttpError(404, 'no such resource');
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) {
        send(res, e.status, e.message + '\n', e.headers);
        return;
      }
      // Only the method and path are logged: never headers or bodies (they carry tokens).
      this.log(`internal error on ${req.method} ${(req.url ?? '').split('?')[0]}: ${String(e)}`);
      send(res, 500, 'internal server error\n');
    }
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    if (this.fastHandler) {
      this.lane = new FastLane(this.fastHandler, this.server, {
        keepAliveMs: this.server.keepAliveTimeout,
        headersMs: this.server.headersTimeout,
      });
      const address = await this.lane.listen(port, host);
      // node:http starts tracking its connections (the headers and request timeouts,
      // closeIdleConnections, closeAllConnections) when its server emits 'listening'.
      // This one never listens itself, so without the event the connections the lane
      // hands over would have no timeouts, and one stalled client would hold shutdown.
      // test/unit/server-fast-lane.test.ts checks both.
      this.server.emit('listening');
      return address;
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Serves the same mounts on a Unix socket (mode 0600) for the HTTP workers, trusting
   * their REMOTE_HEADER as the client's address: only this socket does.
   */
  listenInternal(socketPath: string): Promise<void> {
    const s = http.createServer((req, res) => {
      void this.dispatch(req, res, true);
    });
    // Workers keep their connections open; they are local and few.
    s.keepAliveTimeout = 0;
    s.headersTimeout = 30_000;
    s.requestTimeout = 0;
    // A socket left by a server that died: the caller holds the data dir's lock.
    try {
      unlinkSync(socketPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      // The umask makes the socket 0600 from its creation (bind happens inside listen).
      const old = process.umask(0o177);
      try {
        s.listen(socketPath, () => {
          s.off('error', reject);
          chmodSync(socketPath, 0o600);
          this.internal = s;
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
  }

  close(): Promise<void> {
    // node:http owns the connections the fast lane handed over even though it does not
    // listen itself (see listen): its close-idle/close-all apply to them, and close()
    // stops its timeout checks (its callback then reports "not running": expected).
    const httpServers = [this.server, this.internal].filter(
      (s): s is http.Server => s !== undefined,
    );
    const closing = httpServers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
          // SSE streams never end on their own.
          setTimeout(() => s.closeAllConnections(), 2000).unref();
        }),
    );
    if (this.lane) closing.push(this.lane.close());
    return Promise.all(closing).then(() => undefined);
  }
}
