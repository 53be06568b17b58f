// Wires boot serving into the controller: a TFTP server over BootFileHandler and an HTTP
// mount under /boot (the same generated configs and static files, plus the iPXE script).
// The controller is reached through the small NodeSource interface, so this file does
// not depend on how the store works. Files served to known nodes become node events;
// requests of machines that are no node yet (attributed by the MAC in the name, else by
// the address pxm's DHCP gave them) are kept by the controller until they enlist.
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Handler } from '../http/core.js';
import { send } from '../http/core.js';
import type { TftpSource } from '../tftp/handler.js';
import { TftpServer, type TftpEvent } from '../tftp/server.js';
import { normaliseTftpPath, openConfined } from '../tftp/static-root.js';
import {
  ASSETS_FILE,
  JsonAssetRegistry,
  bootImages,
  emptyAssets,
  type BootAssets,
} from './assets.js';
import { describeBootStep, type BootStep } from '../unknown-boots.js';
import { decideBoot, normaliseMac } from './decide.js';
import {
  BootFileHandler,
  macOfBootName,
  reportBootRequest,
  resolveBootName,
  type NodeLookup,
  type OtherRequest,
} from './file-handler.js';
import { renderIpxe } from './ipxe.js';
import type { BootNode, BootSettings } from './types.js';

/** What the boot service needs from the controller. */
export interface NodeSource {
  listNodes(filter: { mac?: string; limit?: number }): {
    items: Array<{
      id: string;
      hostname: string;
      macs: string[];
      status: string;
      architecture: string;
      ip: string | null;
      deploy: { netboot: boolean };
    }>;
  };
  record(nodeId: string, type: string, summary: string, data: unknown): unknown;
  /** Keeps a boot step of a MAC that is no node (yet): Controller.noteUnknownBoot. */
  noteUnknownBoot?(mac: string, step: BootStep): void;
  /** The netbooting MAC pxm's DHCP last gave this address: Controller.unknownBootMacAt. */
  unknownBootMacAt?(ip: string): string | undefined;
}

export interface BootServiceOptions {
  nodes: NodeSource;
  dataDir: string;
  /** Boot root; default <dataDir>/boot. */
  bootRoot?: string;
  tftpListen: string[];
  tftpPort: number;
  /** TftpServerOptions.ackPollUs. */
  tftpPollUs?: number;
  /** The controller's HTTP base as nodes reach it, e.g. http://10.0.0.1:5240. */
  httpBase: string;
  logHost: string;
  logPort?: number;
  log?: (line: string) => void;
}

export interface BootService {
  /** Undefined when started without TFTP listeners (HTTP boot only). */
  tftp: TftpServer | undefined;
  /** Mount at `/boot` on the controller's HttpServer. */
  httpHandler: Handler;
  close(): Promise<void>;
}

type SourceNode = ReturnType<NodeSource['listNodes']>['items'][number];

function toBootNode(n: SourceNode): BootNode {
  return {
    id: n.id,
    hostname: n.hostname,
    macs: n.macs.map((m) => normaliseMac(m) ?? m.toLowerCase()),
    status: n.status,
    netbootEnabled: n.deploy.netboot,
    arch: n.architecture,
  };
}

export function nodeLookup(src: NodeSource): NodeLookup {
  return {
    byMac(mac) {
      const n = src.listNodes({ mac, limit: 1 }).items[0];
      return n ? toBootNode(n) : undefined;
    },
    byIp(address) {
      // The store has no IP index; fleets served by one controller are small enough.
      const n = src.listNodes({}).items.find((x) => x.ip === address);
      return n ? toBootNode(n) : undefined;
    },
  };
}

export async function startBootService(o: BootServiceOptions): Promise<BootService> {
  const root = o.bootRoot ?? path.join(o.dataDir, 'boot');
  const registry = new JsonAssetRegistry(path.join(o.dataDir, ASSETS_FILE));
  // Re-read the registry at most every few seconds: `pxm images import` may run while
  // the server is up, and a boot storm must not re-parse it per request.
  let assets: BootAssets = emptyAssets();
  let readAt = 0;
  const refresh = async () => {
    if (Date.now() - readAt < 5000) return;
    readAt = Date.now();
    assets = await registry.read().catch(() => assets);
  };
  await refresh();
  const settings = (): BootSettings => ({
    httpBase: o.httpBase,
    bootPath: '/boot',
    logHost: o.logHost,
    logPort: o.logPort ?? 514,
    images: bootImages(assets),
    pxelinuxFetch: 'http',
    grubHttp: false,
  });
  const lookup = nodeLookup(o.nodes);
  const onServe = (nodeId: string, filename: string, remote: string, via = 'tftp') => {
    o.nodes.record(nodeId, 'boot', `${via}: ${filename} sent to ${remote}`, {
      filename,
      remote,
      via,
    });
  };
  // Not a file served to a known node: a refusal for a known node is its event; anything
  // for a machine that is no node yet is kept until it enlists (bounded, in memory).
  const onOther = (r: OtherRequest, via: 'tftp' | 'http' = 'tftp') => {
    const step: BootStep = {
      kind: 'file',
      via,
      filename: r.filename,
      remote: r.remote,
      result: r.result,
    };
    if (r.node) {
      const ev = describeBootStep(step, undefined);
      o.nodes.record(r.node.id, ev.type, ev.summary, ev.data);
      return;
    }
    const mac = r.mac ?? o.nodes.unknownBootMacAt?.(r.remote);
    if (mac) o.nodes.noteUnknownBoot?.(mac, step);
  };
  const handler = new BootFileHandler(root, lookup, settings, onServe, onOther);
  const wrapped = {
    resolve: async (r: Parameters<BootFileHandler['resolve']>[0]) => {
      await refresh();
      return handler.resolve(r);
    },
  };
  const log = o.log ?? (() => {});
  const tftp =
    o.tftpListen.length === 0
      ? undefined
      : new TftpServer(wrapped, {
          listen: o.tftpListen.map((address) => ({ address, port: o.tftpPort })),
          ackPollUs: o.tftpPollUs,
          onEvent: (e: TftpEvent) => {
            if (e.type === 'listening') log(`tftp: listening on ${e.address} port ${e.port}`);
            else if (e.type === 'transfer-end' && !e.result.ok)
              log(`tftp: ${e.filename} to ${e.remote.address} failed: ${e.result.error ?? ''}`);
          },
        });
  await tftp?.start();

  /** The HTTP side's report of one request (the same rules as BootFileHandler's). */
  const report = (
    filename: string,
    remote: string,
    mac: string | undefined,
    result: string,
  ): Promise<void> =>
    reportBootRequest(
      lookup,
      (id, f, rem) => onServe(id, f, rem, 'http'),
      (r) => onOther(r, 'http'),
      { filename, remote, mac, result },
    );

  const httpHandler: Handler = async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return false;
    await refresh();
    const rel = ctx.path.replace(/^\/boot\/?/, '');
    // iPXE: /boot/ipxe chains to /boot/ipxe/<mac> with the booting interface's MAC.
    if (rel === 'ipxe') {
      await report(rel, ctx.remote, undefined, 'sent');
      return send(ctx.res, 200, `#!ipxe\nchain ${o.httpBase}/boot/ipxe/\${netX/mac:hexhyp}\n`);
    }
    const ip = /^ipxe\/([0-9a-fA-F:-]+)$/.exec(rel);
    if (ip?.[1]) {
      const mac = normaliseMac(ip[1]);
      const node = mac ? await lookup.byMac(mac) : undefined;
      try {
        const text = renderIpxe(decideBoot(node), node, settings());
        if (node) onServe(node.id, rel, ctx.remote, 'http');
        else if (mac)
          onOther({ filename: rel, remote: ctx.remote, mac, node, result: 'sent' }, 'http');
        return send(ctx.res, 200, text);
      } catch (e) {
        await report(rel, ctx.remote, mac, (e as Error).message);
        return send(ctx.res, 404, `${(e as Error).message}\n`);
      }
    }
    const n = normaliseTftpPath(rel, root);
    if ('error' in n) {
      await report(rel, ctx.remote, undefined, n.error.message);
      return send(ctx.res, n.error.code === 2 ? 403 : 404, `${n.error.message}\n`);
    }
    const f = await resolveBootName(n.relative, lookup, settings());
    if (f.kind === 'error') {
      await report(n.relative, ctx.remote, macOfBootName(n.relative), f.message);
      return send(ctx.res, 404, `${f.message}\n`);
    }
    if (f.kind === 'generated') {
      if (f.node) onServe(f.node.id, n.relative, ctx.remote, 'http');
      else await report(n.relative, ctx.remote, undefined, 'sent');
      return send(ctx.res, 200, f.text);
    }
    const opened = await openConfined(root, f.relative);
    if ('error' in opened) {
      await report(f.relative, ctx.remote, undefined, opened.error.message);
      return send(ctx.res, opened.error.code === 2 ? 403 : 404, `${opened.error.message}\n`);
    }
    const src = opened.source;
    await report(f.relative, ctx.remote, undefined, 'sent');
    ctx.res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(opened.source.size),
    });
    if (ctx.method === 'HEAD') {
      await src.close();
      ctx.res.end();
      return true;
    }
    // Stream from the handle openConfined checked (no second open by path: no TOCTOU).
    await pipeline(Readable.from(chunks(src)), ctx.res).catch(() => ctx.res.destroy());
    return true;
  };

  return {
    tftp,
    httpHandler,
    async close() {
      await tftp?.close();
    },
  };
}

async function* chunks(src: TftpSource): AsyncGenerator<Buffer> {
  try {
    for (let pos = 0; pos < src.size;) {
      const buf = Buffer.allocUnsafe(Math.min(256 * 1024, src.size - pos));
      const n = await src.read([buf], pos);
      if (n === 0) break;
      pos += n;
      yield buf.subarray(0, n);
    }
  } finally {
    await src.close();
  }
}

/**
 * The controller URL as booting nodes reach it: the listen address when it is a real
 * one, else the first non-internal IPv4 address of this machine.
 */
export function advertisedBase(listen: string, port: number): string {
  let host = listen;
  if (listen === '0.0.0.0' || listen === '::' || listen === '') {
    const all = Object.values(os.networkInterfaces()).flatMap((a) => a ?? []);
    host = all.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
  }
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface AttachOptions {
  dataDir: string;
  /** The controller's listen address (TFTP listens there too). */
  listen: string;
  /** The HTTP port actually bound. */
  httpPort: number;
  /** Given on the command line: failure to bind is then fatal. Default 69, best effort. */
  tftpPort?: number;
  tftpPollUs?: number;
  tftpRoot?: string;
  bootUrl?: string;
  log: (line: string) => void;
}

/**
 * Adds network boot to a running controller: /boot over HTTP always, TFTP on
 * `tftpPort`. With the default port a bind failure (not root, port taken) is logged and
 * the server goes on without TFTP, so several test servers can run side by side; an
 * explicit --tftp-port must work or the server does not start.
 */
export async function attachBoot(
  server: { controller: NodeSource; http: { mount(prefix: string, h: Handler): void } },
  o: AttachOptions,
): Promise<BootService> {
  const httpBase = o.bootUrl?.replace(/\/+$/, '') ?? advertisedBase(o.listen, o.httpPort);
  const logHost = new URL(httpBase).hostname.replace(/^\[|\]$/g, '');
  const base = {
    nodes: server.controller,
    dataDir: o.dataDir,
    ...(o.tftpRoot ? { bootRoot: o.tftpRoot } : {}),
    tftpPort: o.tftpPort ?? 69,
    tftpPollUs: o.tftpPollUs,
    httpBase,
    logHost,
    log: o.log,
  };
  let svc: BootService;
  try {
    svc = await startBootService({ ...base, tftpListen: [o.listen] });
  } catch (e) {
    if (o.tftpPort !== undefined) throw e;
    o.log(`tftp: not started on port 69 (${(e as Error).message}); HTTP boot only`);
    svc = await startBootService({ ...base, tftpListen: [] });
  }
  server.http.mount('/boot', svc.httpHandler);
  return svc;
}
