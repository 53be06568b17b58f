// Passes a request on to another HttpServer over a Unix socket and streams its answer
// back: how an HTTP worker hands everything it does not answer itself to the main
// process (src/server/workers/). The client's address travels in REMOTE_HEADER (any
// copy the client sent is dropped); bodies and answers are streamed, never buffered,
// so signals with result files and event streams (SSE) pass unchanged.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { HttpError, REMOTE_HEADER, type Handler } from './core.js';

/** Headers about one connection, not the request (RFC 9110 7.6.1), and Expect. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  // The front server has already answered 100-continue to the client.
  'expect',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && k !== REMOTE_HEADER) out[k] = v;
  }
  return out;
}

export interface Forwarder {
  handler: Handler;
  close(): void;
}

export function forwardTo(socketPath: string): Forwarder {
  // Kept-alive connections to the main process: a forwarded request costs no connect.
  const agent = new http.Agent({ keepAlive: true });
  const handler: Handler = (ctx) =>
    new Promise<boolean>((resolve, reject) => {
      const headers = endToEnd(ctx.req.headers);
      headers[REMOTE_HEADER] = ctx.remote;
      const up = http.request(
        { socketPath, agent, method: ctx.method, path: ctx.req.url ?? '/', headers },
        (answer) => {
          ctx.res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          // An event stream (no length) shows its headers now, not with its first event.
          if (answer.headers['content-length'] === undefined) ctx.res.flushHeaders();
          answer.pipe(ctx.res);
          // The main process went away mid-answer: the client must not wait for the rest.
          answer.on('close', () => {
            if (!answer.complete) ctx.res.destroy();
          });
          resolve(true);
        },
      );
      up.on('error', () => {
        if (!ctx.res.headersSent) {
          reject(new HttpError(502, 'the pxm server main process is not answering'));
        } else {
          ctx.res.destroy();
        }
      });
      // The client went away (an event stream closed): let the main process see it too.
      ctx.res.on('close', () => {
        if (!ctx.res.writableFinished) up.destroy();
      });
      ctx.req.pipe(up);
    });
  return { handler, close: () => agent.destroy() };
}
