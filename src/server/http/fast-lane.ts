// The fast lane: a plain TCP front for an HTTP listener that answers the simplest
// requests itself and gives a connection to node:http the moment a request is anything
// else. Why: a metadata read costs ~2x more CPU in node:http's request machinery than
// in the read itself (docs/benchmarks/server.md); boot storms and cloud-init polling
// are almost all such reads.
//
// "Simplest" is deliberately narrow: `GET <origin-form path> HTTP/1.1`, a complete head
// under MAX_HEAD bytes, plain printable header lines, one Host, no body (no
// Content-Length, Transfer-Encoding, Expect or Upgrade) and no Connection header other
// than keep-alive. Anything else, and anything the handler declines, goes to node:http
// together with every byte not yet answered, so node:http's parser, limits and errors
// (400, 431, ...) apply to it unchanged. A connection never comes back from node:http.
//
// The lane knows no routes or policy: the handler decides (src/server/http/core.ts
// wires it; the metadata reads supply it).
import { STATUS_CODES } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface FastRequest {
  /** The request target as sent: an origin-form path without query or fragment. */
  target: string;
  /** Lower-case header names; each at most once (a repeated header is not simple). */
  headers: ReadonlyMap<string, string>;
  /** The peer's address (IPv4-mapped IPv6 unwrapped). */
  remote: string;
}

export interface FastAnswer {
  status: number;
  /** Every header but Content-Length, Date, Connection and Keep-Alive. */
  headers: Record<string, string>;
  /** A Buffer must not change once returned: the lane keeps its latin1 form. */
  body: string | Buffer;
}

/** An answer, or undefined: "not mine", and the connection goes to node:http. */
export type FastHandler = (req: FastRequest) => FastAnswer | undefined;

/** Where connections go when a request is not for the lane (an http.Server). */
export interface ConnectionTaker {
  emit(event: 'connection', socket: Socket): boolean;
}

export interface FastLaneOptions {
  /** Idle time between requests before the connection is closed (node:http's keepAliveTimeout). */
  keepAliveMs: number;
  /** Time a started request head may take to complete (node:http's headersTimeout). */
  headersMs: number;
}

/** node:http's default --max-http-header-size: a longer head is node:http's to refuse (431). */
export const MAX_HEAD = 16 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n');
/** Bodies up to this size leave in one string write with their head (node's 16 KiB stack buffer). */
const ONE_WRITE = 12 * 1024;
// A request line the lane takes: GET, an origin-form target of visible ASCII without
// query or fragment, HTTP/1.1.
const REQUEST_LINE = /^GET (\/[!$&'()*+,\-./0-9:;=@A-Z_a-z~%]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space, tab and obs-text in a value; a bare CR or LF is not simple.
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
// In a head: controls other than tab, CR and LF. Matching control bytes is the point.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]/;
// Headers that give a request a body or a protocol change: node:http's to handle.
const NOT_SIMPLE = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade']);

/** Strips optional whitespace (space, tab) around a header value, and nothing else. */
function trimOws(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && (v.charCodeAt(a) === 32 || v.charCodeAt(a) === 9)) a++;
  while (b > a && (v.charCodeAt(b - 1) === 32 || v.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
}

/** Parses one complete head (without its final CRLFCRLF); undefined when not simple. */
export function parseSimpleHead(
  head: string,
): { target: string; headers: Map<string, string> } | undefined {
  // One scan for what no line may hold (controls but tab; CR and LF are checked below,
  // where a line must end in CRLF).
  if (CONTROLS.test(head)) return undefined;
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = head.length;
  const m = REQUEST_LINE.exec(head.slice(0, eol));
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (let p = eol + 2; p < head.length; p = eol + 2) {
    eol = head.indexOf('\r\n', p);
    if (eol < 0) eol = head.length;
    const colon = head.indexOf(':', p);
    if (colon <= p || colon >= eol) return undefined;
    const name = head.slice(p, colon);
    if (!TOKEN.test(name)) return undefined; // also refuses obs-fold and space before ':'
    const raw = head.slice(colon + 1, eol);
    if (raw.includes('\r') || raw.includes('\n')) return undefined; // a bare CR or LF
    const key = name.toLowerCase();
    if (headers.has(key) || NOT_SIMPLE.has(key)) return undefined;
    const value = trimOws(raw);
    if (key === 'connection' && value.toLowerCase() !== 'keep-alive') return undefined;
    headers.set(key, value);
  }
  if (!headers.has('host')) return undefined; // node:http answers 400 for HTTP/1.1
  return { target: m[1]!, headers };
}

// node:http sends one Date per second too; formatting it per answer is measurable.
let dateSecond = 0;
let dateValue = '';
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/**
 * The head of an answer (latin1). Header values are checked: a CR or LF would split it.
 * The body goes out as its own chunk of the same writev: a cached body is not copied,
 * and no buffer is allocated per answer (their malloc/free was measurable).
 */
export function answerHead(a: FastAnswer, bodyLength: number, keepAliveMs: number): string {
  let head = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? 'Unknown'}\r\n`;
  for (const k in a.headers) {
    const v = a.headers[k]!;
    if (!TOKEN.test(k) || BAD_VALUE.test(v)) throw new Error(`bad response header ${k}`);
    head += `${k}: ${v}\r\n`;
  }
  return `${head}Content-Length: ${bodyLength}\r\nDate: ${httpDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n\r\n`;
}

// Bodies repeat: handlers answer from per-node caches, so the same Buffer comes back on
// every read, and its latin1 form (a copy) is made once. Dies with its Buffer.
const latin1Forms = new WeakMap<Buffer, string>();
function latin1Of(body: Buffer): string {
  let s = latin1Forms.get(body);
  if (s === undefined) {
    s = body.toString('latin1');
    latin1Forms.set(body, s);
  }
  return s;
}

function unmapped(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** One client connection while it is the lane's. */
class LaneConnection {
  private pending: Buffer | undefined;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onTimeout = (): void => {
    this.socket.destroy();
  };
  private readonly onError = (): void => {
    this.socket.destroy(); // resets and aborts are the client's business
  };

  // Asked once: socket.remoteAddress is a system call each time.
  private readonly remote: string;
  /** Which timeout runs: between requests, or while a head is incomplete. */
  private midHead = false;

  constructor(
    private readonly socket: Socket,
    private readonly lane: FastLane,
  ) {
    this.remote = unmapped(socket.remoteAddress ?? '');
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(lane.options.keepAliveMs);
  }

  /** When the incomplete head began: a head has headersMs in all, however it trickles. */
  private headSince = 0;

  /** Socket activity restarts the running timeout; only a change of state sets another. */
  private waitFor(midHead: boolean): void {
    if (midHead === this.midHead) return;
    this.midHead = midHead;
    if (midHead) this.headSince = Date.now();
    this.socket.setTimeout(midHead ? this.lane.options.headersMs : this.lane.options.keepAliveMs);
  }

  private receive(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    let declined = false;
    while (pos < buf.length) {
      const end = buf.indexOf(HEAD_END, pos);
      if (end < 0 || end - pos > MAX_HEAD) break;
      if (!this.answer(buf.toString('latin1', pos, end))) {
        declined = true;
        break;
      }
      pos = end + HEAD_END.length;
    }
    this.flush();
    const rest = buf.subarray(pos);
    // Declined, or no complete head within the limit: node:http answers it (431) or
    // rejects it, after the answers above (socket writes keep their order).
    if (declined || rest.length > MAX_HEAD) return this.handOff(rest);
    if (rest.length === 0) return this.waitFor(false);
    if (this.midHead && Date.now() - this.headSince > this.lane.options.headersMs) {
      // As node:http answers a head that takes longer than its headersTimeout.
      this.socket.off('data', this.onData);
      this.socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    // A copy, so a small remainder does not pin a large read buffer.
    this.pending = Buffer.from(rest);
    this.waitFor(true);
  }

  /** Writes the answer to one request head; false when the lane declines it. */
  private answer(head: string): boolean {
    const parsed = parseSimpleHead(head);
    if (!parsed) return false;
    let a: FastAnswer | undefined;
    let top: string;
    try {
      a = this.lane.handler({
        target: parsed.target,
        headers: parsed.headers,
        remote: this.remote,
      });
      if (!a) return false;
      const length = typeof a.body === 'string' ? Buffer.byteLength(a.body) : a.body.length;
      top = answerHead(a, length, this.lane.options.keepAliveMs);
    } catch {
      // A handler that throws declines: node:http runs the request through the ordinary
      // path, which answers the error as it answers every other (and logs a 500).
      return false;
    }
    this.send(top, a.body);
    return true;
  }

  /**
   * Small answers leave as one latin1 string (pipelined ones together, up to ONE_WRITE):
   * node writes such a string from a stack buffer straight to the socket, where a Buffer
   * costs an allocation and a writev (their malloc/free showed in the profile). A larger
   * body goes as its own chunk, uncopied.
   */
  private send(head: string, body: string | Buffer): void {
    if (typeof body === 'string') {
      // Only ASCII is the same in latin1 and UTF-8 (byte count = character count).
      if (Buffer.byteLength(body) === body.length) return this.queue(head, body);
      body = Buffer.from(body);
    }
    if (body.length <= ONE_WRITE) return this.queue(head, latin1Of(body));
    this.flush();
    this.socket.write(head, 'latin1');
    this.socket.write(body);
  }

  /** Unwritten answers of this pass (latin1). */
  private out = '';

  private queue(head: string, body: string): void {
    if (this.out.length + head.length + body.length > ONE_WRITE) this.flush();
    if (head.length + body.length > ONE_WRITE) {
      this.socket.write(head, 'latin1');
      this.socket.write(body, 'latin1');
      return;
    }
    this.out += head + body;
  }

  private flush(): void {
    if (this.out === '') return;
    this.socket.write(this.out, 'latin1');
    this.out = '';
  }

  /** Gives the socket and the unanswered bytes to node:http for good. */
  private handOff(rest: Buffer): void {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('timeout', this.onTimeout);
    s.setTimeout(0);
    this.lane.release(s);
    s.pause();
    if (rest.length) s.unshift(rest);
    this.lane.taker.emit('connection', s);
    s.resume();
  }

  /** Shutdown: a lane connection is between requests or mid-head, never mid-answer. */
  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

export class FastLane {
  readonly server: net.Server;
  private readonly connections = new Map<Socket, LaneConnection>();

  constructor(
    readonly handler: FastHandler,
    readonly taker: ConnectionTaker,
    readonly options: FastLaneOptions,
  ) {
    // node:http's server default, so handed-off connections behave as its own.
    this.server = net.createServer({ noDelay: true }, (socket) => {
      const c = new LaneConnection(socket, this);
      this.connections.set(socket, c);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Called when a connection leaves the lane for node:http. */
  release(socket: Socket): void {
    this.connections.delete(socket);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting and closes the lane's own connections. Resolves when every connection
   * it accepted has ended, handed-off ones too (node:http closes those: HttpServer.close).
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const c of this.connections.values()) c.close();
    });
  }
}
