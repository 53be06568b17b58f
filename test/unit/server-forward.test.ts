// The pieces of the HTTP worker model that need no second process: the internal
// listener's trust rule, request forwarding over a Unix socket (real sockets), which
// requests a worker answers itself, and the --http-workers / http_workers values.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { HttpServer, send } from '../../src/server/http/core.js';
import { forwardTo, type Forwarder } from '../../src/server/http/forward.js';
import { isLocalRead } from '../../src/server/workers/read-backend.js';
import { autoHttpWorkers, parseHttpWorkers } from '../../src/server/config.js';
import { ValidationError } from '../../src/util/errors.js';

let dir: string;
let back: HttpServer;
let front: HttpServer;
let fwd: Forwarder;
let sock: string;
let frontUrl: string;
let backUrl: string;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-forward-'));
  sock = path.join(dir, 'http-internal.sock');
  back = new HttpServer();
  back.mount('/echo', async (ctx) => {
    const body = await ctx.body(1 << 20);
    return send(
      ctx.res,
      201,
      JSON.stringify({
        remote: ctx.remote,
        method: ctx.method,
        path: ctx.path,
        query: ctx.url.search,
        body: body.toString(),
        host: ctx.req.headers.host,
        x: ctx.req.headers['x-custom'],
      }),
      { 'X-Answer': 'yes' },
    );
  });
  back.mount('/stream', (ctx) => {
    ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    ctx.res.write('data: first\n\n');
    return true;
  });
  await back.listenInternal(sock);
  backUrl = `http://127.0.0.1:${(await back.listen(0, '127.0.0.1')).port}`;
  front = new HttpServer();
  fwd = forwardTo(sock);
  front.mount('/', fwd.handler);
  frontUrl = `http://127.0.0.1:${(await front.listen(0, '127.0.0.1')).port}`;
});

afterEach(async () => {
  fwd.close();
  await front.close();
  await back.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('internal socket and forwarding', () => {
  it('the internal socket is 0600', () => {
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('passes method, path, query, headers and body, and the client address the front saw', async () => {
    const res = await request(`${frontUrl}/echo/a?x=1`, {
      method: 'POST',
      headers: { 'x-custom': 'kept', 'x-pxm-remote': '10.6.6.6' },
      body: 'hello',
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-answer']).toBe('yes');
    expect(JSON.parse(await res.body.text())).toEqual({
      remote: '127.0.0.1',
      method: 'POST',
      path: '/echo/a',
      query: '?x=1',
      body: 'hello',
      host: frontUrl.slice('http://'.length),
      x: 'kept',
    });
  });

  it('the public listener ignores X-Pxm-Remote; the internal one refuses a request without it', async () => {
    const pub = await request(`${backUrl}/echo`, { headers: { 'x-pxm-remote': '10.6.6.6' } });
    expect((JSON.parse(await pub.body.text()) as { remote: string }).remote).toBe('127.0.0.1');
    const direct = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ socketPath: sock, path: '/echo' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(direct.status).toBe(400);
    expect(direct.body).toContain('x-pxm-remote');
  });

  it('streams an event stream through as it is written', async () => {
    const res = await request(`${frontUrl}/stream`);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const first = await new Promise<string>((resolve) => {
      res.body.once('data', (c: Buffer) => resolve(c.toString()));
    });
    expect(first).toBe('data: first\n\n');
    res.body.destroy();
  });

  it('answers 502 when the main process is not there', async () => {
    await back.close();
    rmSync(sock, { force: true });
    const res = await request(`${frontUrl}/echo`);
    expect(res.statusCode).toBe(502);
    expect(await res.body.text()).toContain('main process is not answering');
  });
});

describe('what a worker answers itself', () => {
  it.each([
    ['GET', '/MAAS/metadata', true],
    ['GET', '/MAAS/metadata/', true],
    ['GET', '/MAAS/metadata/2012-03-01/', true],
    ['GET', '/MAAS/metadata/latest/user-data', true],
    ['GET', '/MAAS/metadata/2012-03-01/meta-data/instance-id', true],
    ['GET', '/MAAS/metadata/latest/meta-data/', true],
    ['POST', '/MAAS/metadata/latest/', false],
    ['HEAD', '/MAAS/metadata/latest/user-data', false],
    ['GET', '/MAAS/metadata/latest/by-id/abc/', false],
    ['GET', '/MAAS/metadata/latest/enlist-preseed/', false],
    ['GET', '/MAAS/metadata/1999-01-01/user-data', false],
    ['GET', '/latest/user-data', false],
    ['GET', '/api/v1/nodes', false],
  ])('%s %s -> %s', (method, p, local) => {
    expect(isLocalRead(method, p)).toBe(local);
  });
});

describe('--http-workers values', () => {
  it('auto is one per CPU from 3 CPUs on, the main process alone below; whole numbers 1..64 are themselves', () => {
    expect([1, 2, 3, 8, 200].map(autoHttpWorkers)).toEqual([1, 1, 3, 8, 64]);
    expect(parseHttpWorkers('--http-workers', 'auto')).toBe(
      autoHttpWorkers(os.availableParallelism()),
    );
    expect(parseHttpWorkers('--http-workers', '1')).toBe(1);
    expect(parseHttpWorkers('x: http_workers', 64)).toBe(64);
  });

  it.each(['0', '65', '-1', '1.5', 'two', '', ' 2', true, null, 2.5])(
    'refuses %j naming the flag',
    (v) => {
      expect(() => parseHttpWorkers('--http-workers', v)).toThrow(ValidationError);
      expect(() => parseHttpWorkers('--http-workers', v)).toThrow(
        /^--http-workers: must be auto or a whole number 1\.\.64/,
      );
    },
  );
});
