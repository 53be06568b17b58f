// The MAAS metadata protocol under /MAAS/metadata/ (see ../shared/notes/maas-metadata.md):
// paths, OAuth, listings, forms and webhook bodies. Decisions (what a node gets, what a
// signal does) belong to the MetadataBackend.
import {
  HttpError,
  normalisePath,
  send,
  sendAnswer,
  textAnswer,
  type HttpContext,
  type Handler,
} from './core.js';
import type { FastAnswer, FastHandler } from './fast-lane.js';
import { parseForm, field, type Form } from './form.js';
import { verifyOAuth, type TokenOwner } from './oauth-verify.js';

export const METADATA_VERSIONS = ['2012-03-01', 'latest'] as const;

/** User-data's headers (frozen: the fast lane formats them once). */
const OCTET_STREAM = Object.freeze({ 'Content-Type': 'application/octet-stream' });

export interface MetaData {
  instanceId: string;
  localHostname: string;
  publicKeys: string[];
  /** YAML document whose `cloud-init` key carries the vendor cloud-config. */
  vendorData?: string;
}

export interface WebhookEvent {
  name: string;
  description: string;
  event_type: string;
  origin: string;
  timestamp?: number;
  result?: string;
  files?: { path: string; content: string; encoding?: string }[];
}

export interface RequestInfo {
  /** The URL this server is reachable at, as the node used it (from the Host header). */
  baseUrl: string;
  remote: string;
}

/** From `MetadataBackend.userDataNow`: this answer builds or changes something. */
export const LATER = Symbol('user-data needs the asynchronous path');

export interface MetadataBackend {
  nodeByToken(tokenKey: string): TokenOwner | undefined;
  metaData(nodeId: string): MetaData | undefined;
  /**
   * The user-data when answering is a plain read (undefined: the node has none, 404),
   * or LATER when it builds something or changes state: then `userData` answers.
   */
  userDataNow(nodeId: string): Buffer | string | undefined | typeof LATER;
  userData(nodeId: string, info: RequestInfo): Promise<Buffer | string | undefined>;
  enlistUserData(info: RequestInfo): Buffer;
  signal(nodeId: string, form: Form): void;
  netbootOff(nodeId: string): void;
  webhook(nodeId: string, ev: WebhookEvent): void;
  /** The node's preseed for an anonymous request, or undefined (answer 404). */
  preseed(nodeId: string, info: RequestInfo): string | undefined;
  enlistPreseed(info: RequestInfo): string;
  /** Anonymous netboot_off (installers call it by id); false when not allowed. */
  netbootOffAnonymous(nodeId: string, info: RequestInfo): boolean;
}

export const LIMITS = {
  /** Signals carry script results; webhook finish events carry base64 log files. */
  signal: 32 * 1024 * 1024,
  webhook: 32 * 1024 * 1024,
  small: 64 * 1024,
};

const PREFIX = '/MAAS/metadata';

export function baseUrlOf(ctx: HttpContext): string {
  return baseUrlFromHost(ctx.req.headers.host);
}

function baseUrlFromHost(host: string | undefined): string {
  if (!host || !/^[A-Za-z0-9.:[\]-]+$/.test(host))
    throw new HttpError(400, 'missing or bad Host header');
  return `http://${host}`;
}

function text(ctx: HttpContext, body: string | Buffer): boolean {
  return send(ctx.res, 200, body);
}

function notFound(what: string): never {
  throw new HttpError(404, `${what} not found`);
}

function methodNotAllowed(allow: string): never {
  throw new HttpError(405, `method not allowed (use ${allow})`, { Allow: allow });
}

/** What a metadata read depends on, from node:http's request or the fast lane's. */
export interface ReadRequest {
  /** Normalised path (core.ts normalisePath). */
  path: string;
  authorization: string | undefined;
  host: string | undefined;
  remote: string;
}

/**
 * The answer to a GET that reads metadata: the version list, a version's listing,
 * meta-data and its keys, and user-data. Undefined when the path is not such a read;
 * LATER when the node's user-data needs `MetadataBackend.userData`. Throws HttpError
 * (401, 404, 400) as the handler does. No side effects, so the fast lane may decline a
 * request after calling it and node:http answer it again.
 */
export function metadataRead(
  backend: MetadataBackend,
  req: ReadRequest,
): FastAnswer | typeof LATER | undefined {
  if (!req.path.startsWith(PREFIX)) return undefined;
  const parts = req.path.slice(PREFIX.length).split('/').filter(Boolean);
  if (parts.length === 0) return textAnswer(200, METADATA_VERSIONS.join('\n') + '\n');
  const [version, what, key, ...more] = parts;
  if (!(METADATA_VERSIONS as readonly string[]).includes(version ?? '')) return undefined;
  if (what !== undefined && what !== 'user-data' && what !== 'meta-data') return undefined;
  if (what === 'user-data' && key !== undefined) return undefined;
  const owner = verifyOAuth(req.authorization, (tk) => backend.nodeByToken(tk));

  if (what === undefined) return textAnswer(200, 'meta-data/\nuser-data\n');

  if (what === 'user-data') {
    if (!owner) {
      const info = { baseUrl: baseUrlFromHost(req.host), remote: req.remote };
      return textAnswer(200, backend.enlistUserData(info));
    }
    const ud = backend.userDataNow(owner.nodeId);
    if (ud === LATER) return LATER;
    if (!ud) notFound('user-data');
    return textAnswer(200, ud, OCTET_STREAM);
  }

  const md: MetaData = owner
    ? (backend.metaData(owner.nodeId) ?? notFound('node'))
    : { instanceId: 'i-maas-enlistment', localHostname: 'maas-enlisting-node', publicKeys: [] };
  const files: Record<string, string | undefined> = {
    'instance-id': md.instanceId,
    'local-hostname': md.localHostname,
    'public-keys': md.publicKeys.length ? md.publicKeys.join('\n') + '\n' : undefined,
    'vendor-data': md.vendorData,
  };
  if (!key) {
    return textAnswer(
      200,
      Object.keys(files)
        .filter((k) => files[k] !== undefined)
        .join('\n') + '\n',
    );
  }
  const v = more.length === 0 ? files[key] : undefined;
  if (v === undefined) notFound(`meta-data/${[key, ...more].join('/')}`);
  return textAnswer(200, v);
}

/**
 * The metadata reads for the fast lane (fast-lane.ts): the same answers as the handler
 * below; it declines (undefined) whatever the handler must answer (errors included).
 */
export function metadataFastReads(backend: MetadataBackend): FastHandler {
  return (req) => {
    if (!req.target.startsWith(PREFIX)) return undefined;
    const a = metadataRead(backend, {
      path: normalisePath(req.target),
      authorization: req.header('authorization'),
      host: req.header('host'),
      remote: req.remote,
    });
    return a === LATER ? undefined : a;
  };
}

export function maasMetadataHandler(backend: MetadataBackend): Handler {
  return async (ctx) => {
    if (!ctx.path.startsWith(PREFIX)) return false;
    if (ctx.method === 'GET') {
      const read = metadataRead(backend, {
        path: ctx.path,
        authorization: ctx.req.headers.authorization,
        host: ctx.req.headers.host,
        remote: ctx.remote,
      });
      if (read === LATER) {
        // The node's user-data builds or changes something: metadataRead checked the
        // credentials, so the owner exists.
        const owner = verifyOAuth(ctx.req.headers.authorization, (tk) => backend.nodeByToken(tk))!;
        const ud = await backend.userData(owner.nodeId, {
          baseUrl: baseUrlOf(ctx),
          remote: ctx.remote,
        });
        if (!ud) notFound('user-data');
        return send(ctx.res, 200, ud, { 'Content-Type': 'application/octet-stream' });
      }
      if (read) return sendAnswer(ctx.res, read);
    }
    const rest = ctx.path.slice(PREFIX.length).replace(/^\//, '');
    const parts = rest.split('/').filter(Boolean);
    const info: RequestInfo = { baseUrl: baseUrlOf(ctx), remote: ctx.remote };
    const auth = (): TokenOwner | undefined =>
      verifyOAuth(ctx.req.headers.authorization, (tk) => backend.nodeByToken(tk));

    if (parts.length === 0) methodNotAllowed('GET');
    const [first, second, third, ...more] = parts;

    if (first === 'status' && second && !third) {
      if (ctx.method !== 'POST') methodNotAllowed('POST');
      const owner = auth();
      if (!owner)
        throw new HttpError(401, 'webhook events need OAuth credentials', {
          Date: new Date().toUTCString(),
        });
      // Another node's id reads as "no such node" (404), never as "forbidden".
      if (owner.nodeId !== second) notFound(`node ${second}`);
      const ev = parseWebhook(await ctx.body(LIMITS.webhook));
      backend.webhook(owner.nodeId, ev);
      return send(ctx.res, 204);
    }

    if (!(METADATA_VERSIONS as readonly string[]).includes(first ?? ''))
      notFound(`metadata version ${first}`);

    if (second === 'by-id' && third && more.length === 0) {
      const op = ctx.url.searchParams.get('op');
      if (ctx.method === 'GET' && op === 'get_preseed') {
        const p = backend.preseed(third, info);
        if (p === undefined) notFound(`preseed for node ${third}`);
        return text(ctx, p);
      }
      if (ctx.method === 'POST') {
        const form = parseForm(
          await ctx.body(LIMITS.small),
          ctx.req.headers['content-type'],
          ctx.url.searchParams,
        );
        if (field(form, 'op') !== 'netboot_off')
          throw new HttpError(400, 'unknown op (expected netboot_off)');
        const owner = auth();
        if (owner) {
          if (owner.nodeId !== third) notFound(`node ${third}`);
          backend.netbootOff(third);
        } else if (!backend.netbootOffAnonymous(third, info)) notFound(`node ${third}`);
        return text(ctx, 'OK\n');
      }
      throw new HttpError(400, 'by-id supports GET ?op=get_preseed and POST op=netboot_off');
    }

    if (second === 'enlist-preseed' && !third) {
      if (ctx.url.searchParams.get('op') !== 'get_enlist_preseed')
        throw new HttpError(400, 'expected ?op=get_enlist_preseed');
      return text(ctx, backend.enlistPreseed(info));
    }

    const owner = auth();

    if (!second) {
      if (ctx.method !== 'POST') methodNotAllowed('GET, POST');
      if (!owner)
        throw new HttpError(401, `POST to the metadata root needs OAuth credentials`, {
          Date: new Date().toUTCString(),
        });
      const form = parseForm(
        await ctx.body(LIMITS.signal),
        ctx.req.headers['content-type'],
        ctx.url.searchParams,
      );
      const op = field(form, 'op');
      if (op === 'signal') {
        if (!field(form, 'status')) throw new HttpError(400, 'signal without a status field');
        backend.signal(owner.nodeId, form);
        return text(ctx, 'OK\n');
      }
      if (op === 'netboot_off') {
        backend.netbootOff(owner.nodeId);
        return text(ctx, 'OK\n');
      }
      throw new HttpError(
        400,
        `unknown op ${JSON.stringify(op ?? '')} (expected signal or netboot_off)`,
      );
    }

    // What is left under a version: the reads (GET, answered above) with another method,
    // and paths that do not exist.
    if ((second === 'user-data' && !third) || second === 'meta-data') methodNotAllowed('GET');
    notFound(ctx.path);
  };
}

export function parseWebhook(body: Buffer): WebhookEvent {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'webhook event body is not JSON');
  }
  if (typeof v !== 'object' || v === null)
    throw new HttpError(400, 'webhook event must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of ['event_type', 'origin', 'name', 'description']) {
    if (typeof o[k] !== 'string')
      throw new HttpError(400, `webhook event: ${k} missing or not a string`);
  }
  const files = Array.isArray(o.files)
    ? o.files.filter(
        (f): f is { path: string; content: string; encoding?: string } =>
          typeof f === 'object' && f !== null && typeof (f as { path?: unknown }).path === 'string',
      )
    : undefined;
  return {
    name: o.name as string,
    description: o.description as string,
    event_type: o.event_type as string,
    origin: o.origin as string,
    timestamp: typeof o.timestamp === 'number' ? o.timestamp : undefined,
    result: typeof o.result === 'string' ? o.result : undefined,
    files,
  };
}
