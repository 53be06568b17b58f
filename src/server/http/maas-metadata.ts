// The MAAS metadata protocol under /MAAS/metadata/ (see ../shared/notes/maas-metadata.md):
// paths, OAuth, listings, forms and webhook bodies. Decisions (what a node gets, what a
// signal does) belong to the MetadataBackend.
import { HttpError, send, type HttpContext, type Handler } from './core.js';
import { parseForm, field, type Form } from './form.js';
import { verifyOAuth, type TokenOwner } from './oauth-verify.js';

export const METADATA_VERSIONS = ['2012-03-01', 'latest'] as const;

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

export interface MetadataBackend {
  nodeByToken(tokenKey: string): TokenOwner | undefined;
  metaData(nodeId: string): MetaData | undefined;
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
  const host = ctx.req.headers.host;
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

export function maasMetadataHandler(backend: MetadataBackend): Handler {
  return async (ctx) => {
    if (!ctx.path.startsWith(PREFIX)) return false;
    const rest = ctx.path.slice(PREFIX.length).replace(/^\//, '');
    const parts = rest.split('/').filter(Boolean);
    const info: RequestInfo = { baseUrl: baseUrlOf(ctx), remote: ctx.remote };
    const auth = (): TokenOwner | undefined =>
      verifyOAuth(ctx.req.headers.authorization, (tk) => backend.nodeByToken(tk));

    if (parts.length === 0) {
      if (ctx.method !== 'GET') methodNotAllowed('GET');
      return text(ctx, METADATA_VERSIONS.join('\n') + '\n');
    }
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
      if (ctx.method === 'GET') return text(ctx, 'meta-data/\nuser-data\n');
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

    if (ctx.method !== 'GET') methodNotAllowed('GET');

    if (second === 'user-data' && !third) {
      if (!owner) return text(ctx, backend.enlistUserData(info));
      const ud = await backend.userData(owner.nodeId, info);
      if (!ud) notFound('user-data');
      return send(ctx.res, 200, ud, { 'Content-Type': 'application/octet-stream' });
    }

    if (second === 'meta-data') {
      const md: MetaData = owner
        ? (backend.metaData(owner.nodeId) ?? notFound('node'))
        : { instanceId: 'i-maas-enlistment', localHostname: 'maas-enlisting-node', publicKeys: [] };
      const files: Record<string, string | undefined> = {
        'instance-id': md.instanceId,
        'local-hostname': md.localHostname,
        'public-keys': md.publicKeys.length ? md.publicKeys.join('\n') + '\n' : undefined,
        'vendor-data': md.vendorData,
      };
      if (!third) {
        return text(
          ctx,
          Object.keys(files)
            .filter((k) => files[k] !== undefined)
            .join('\n') + '\n',
        );
      }
      const v = more.length === 0 ? files[third] : undefined;
      if (v === undefined) notFound(`meta-data/${[third, ...more].join('/')}`);
      return text(ctx, v);
    }
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
