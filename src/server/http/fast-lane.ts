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
  /**
   * A header's value without surrounding spaces and tabs, by lower-case name; undefined
   * when absent. Each header occurs at most once (a repeated header is not simple). Read
   * during the handler call: the request's bytes are not kept after it.
   */
  header(name: string): string | undefined;
  /** The peer's address (IPv4-mapped IPv6 unwrapped). */
  remote: string;
}

export interface FastAnswer {
  status: number;
  /**
   * Every header but Content-Length, Date, Connection and Keep-Alive. A frozen object is
   * checked and formatted once (textAnswer freezes what it merges).
   */
  headers: Readonly<Record<string, string>>;
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
/** More header lines than this is not a simple request (node:http's own limit is 2000). */
const MAX_HEADERS = 64;

// Byte classes, the one statement of what names, values and paths may hold (requests
// and answers alike). A request head is checked against them in one pass that also
// finds its header lines: it runs on every request, and a string copy of the head, a
// regex scan of it for control bytes and a Map of lower-cased names cost more than the
// rest.
const TCHAR = 1; // a token byte (header names)
const VCHAR = 2; // a header value byte: tab, visible ASCII, space, obs-text
const PCHAR = 4; // a request-target byte: origin-form path, no query or fragment
const CLASS = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  CLASS[c.charCodeAt(0)]! |= TCHAR;
CLASS[9]! |= VCHAR;
for (let b = 0x20; b <= 0xff; b++) if (b !== 0x7f) CLASS[b]! |= VCHAR;
for (const c of "!$&'()*+,-./0123456789:;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~%")
  CLASS[c.charCodeAt(0)]! |= PCHAR;

/** Every character of `s` is in `cls` (characters above 0xff never are). */
function allIn(s: string, cls: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || (CLASS[c]! & cls) === 0) return false;
  }
  return true;
}

// Header names the lane itself looks at (lower case).
const NOT_SIMPLE = ['content-length', 'transfer-encoding', 'expect', 'upgrade']; // node:http's
const lowerAscii = (b: number): number => (b >= 65 && b <= 90 ? b + 32 : b);

/** buf[at, at + length) is exactly `s`. */
function bytesAre(buf: Buffer, at: number, length: number, s: string): boolean {
  if (length !== s.length) return false;
  for (let i = 0; i < length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** buf[at, at + length) is `lower` (lower case) ignoring ASCII case. */
function nameIs(buf: Buffer, at: number, length: number, lower: string): boolean {
  if (length !== lower.length) return false;
  for (let i = 0; i < length; i++)
    if (lowerAscii(buf[at + i]!) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Two byte ranges of `buf` of the same length are equal ignoring ASCII case. */
function sameNames(buf: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++)
    if (lowerAscii(buf[a + i]!) !== lowerAscii(buf[b + i]!)) return false;
  return true;
}

/** A simple request head: its target, and its header lines as offsets into the bytes. */
export class SimpleHead implements FastRequest {
  /** Set by the connection that received the head. */
  remote = '';

  constructor(
    private readonly buf: Buffer,
    readonly target: string,
    /** Per header: name start, name end, value start, value end (spaces trimmed). */
    private readonly lines: number[],
  ) {}

  header(name: string): string | undefined {
    const lines = this.lines;
    for (let i = 0; i < lines.length; i += 4)
      if (nameIs(this.buf, lines[i]!, lines[i + 1]! - lines[i]!, name))
        return this.buf.toString('latin1', lines[i + 2], lines[i + 3]);
    return undefined;
  }
}

/**
 * Parses one complete head, buf[start, end) without its final CRLFCRLF (a string is
 * taken as latin1, for tests); undefined when it is not simple.
 */
export function parseSimpleHead(
  head: Buffer | string,
  start = 0,
  end = head.length,
): SimpleHead | undefined {
  const buf = typeof head === 'string' ? Buffer.from(head, 'latin1') : head;
  // Request line: `GET /<path> HTTP/1.1`.
  if (end - start < 5 || !bytesAre(buf, start, 5, 'GET /')) return undefined;
  const targetStart = start + 4;
  let p = targetStart + 1;
  while (p < end && (CLASS[buf[p]!]! & PCHAR) !== 0) p++;
  const targetEnd = p;
  if (end - p < 9 || !bytesAre(buf, p, 9, ' HTTP/1.1')) return undefined;
  p += 9;
  if (p !== end && (buf[p] !== 13 || buf[p + 1] !== 10)) return undefined;

  // A plain array: cheaper to make per request than a typed one.
  const lines: number[] = [];
  let hosts = 0;
  for (p += 2; p < end; p += 2) {
    if (lines.length === MAX_HEADERS * 4) return undefined;
    // Name: one or more token bytes, then ':' (no space before it, no obs-fold).
    const nameStart = p;
    while (p < end && (CLASS[buf[p]!]! & TCHAR) !== 0) p++;
    if (p === nameStart || p === end || buf[p] !== 58) return undefined;
    const nameEnd = p++;
    // Value: value bytes up to CRLF or the end of the head; a bare CR or LF ends it badly.
    while (p < end && (buf[p] === 32 || buf[p] === 9)) p++;
    const valueStart = p;
    while (p < end && (CLASS[buf[p]!]! & VCHAR) !== 0) p++;
    if (p !== end && (buf[p] !== 13 || buf[p + 1] !== 10)) return undefined;
    let valueEnd = p;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 32 || buf[valueEnd - 1] === 9))
      valueEnd--;

    const len = nameEnd - nameStart;
    for (const n of NOT_SIMPLE) if (nameIs(buf, nameStart, len, n)) return undefined;
    if (nameIs(buf, nameStart, len, 'host')) hosts++;
    else if (
      nameIs(buf, nameStart, len, 'connection') &&
      !nameIs(buf, valueStart, valueEnd - valueStart, 'keep-alive')
    )
      return undefined;
    // A repeated header is not simple (node:http joins or picks; the lane does not guess).
    for (let i = 0; i < lines.length; i += 4) {
      const a = lines[i]!;
      if (lines[i + 1]! - a === len && sameNames(buf, a, nameStart, len)) return undefined;
    }
    lines.push(nameStart, nameEnd, valueStart, valueEnd);
  }
  if (hosts !== 1) return undefined; // node:http answers 400 for HTTP/1.1 without Host
  return new SimpleHead(buf, buf.toString('latin1', targetStart, targetEnd), lines);
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

// Status lines and frozen header sets come back on every answer: each is formatted and
// checked once.
const statusLines = new Map<number, string>();
const headerBlocks = new WeakMap<object, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

/** Header lines, each checked against the byte classes. */
function headerBlock(headers: Readonly<Record<string, string>>): string {
  const frozen = Object.isFrozen(headers);
  if (frozen) {
    const known = headerBlocks.get(headers);
    if (known !== undefined) return known;
  }
  let block = '';
  for (const k in headers) {
    const v = headers[k]!;
    // A CR or LF (not VCHAR) in a value would split the answer.
    if (k === '' || !allIn(k, TCHAR) || !allIn(v, VCHAR))
      throw new Error(`bad response header ${k}`);
    block += `${k}: ${v}\r\n`;
  }
  if (frozen) headerBlocks.set(headers, block);
  return block;
}

/** The head of an answer (latin1). */
export function answerHead(a: FastAnswer, bodyLength: number, keepAliveMs: number): string {
  return `${statusLine(a.status)}${headerBlock(a.headers)}Content-Length: ${bodyLength}\r\nDate: ${httpDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n\r\n`;
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
      if (!this.answer(buf, pos, end)) {
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
  private answer(buf: Buffer, start: number, end: number): boolean {
    const req = parseSimpleHead(buf, start, end);
    if (!req) return false;
    req.remote = this.remote;
    let a: FastAnswer | undefined;
    let top: string;
    try {
      a = this.lane.handler(req);
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
