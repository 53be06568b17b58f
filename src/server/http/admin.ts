// Admin JSON REST API under /api/v1 (bearer API key). Thin: parses, calls the
// Controller, maps its errors to statuses. Documented in docs/api.md.
import { safeEqual } from '../../oauth/plaintext.js';
import { PxmError, ValidationError } from '../../util/errors.js';
import { ConflictError, NotFoundError, type Controller, type NodeInput } from '../controller.js';
import {
  allowedActions,
  isNodeAction,
  isNodeStatus,
  TransitionError,
  type NodeStatus,
} from '../lifecycle.js';
import type { NodeEvent, NodeRecord } from '../store/types.js';
import { HttpError, sendJson, send, type Handler, type HttpContext } from './core.js';

const PREFIX = '/api/v1';
const BODY_LIMIT = 4 * 1024 * 1024;

/** The node as the API shows it: everything but the secrets. */
export function nodeView(n: NodeRecord): Record<string, unknown> {
  return {
    id: n.id,
    hostname: n.hostname,
    domain: n.domain,
    fqdn: `${n.hostname}.${n.domain}`,
    architecture: n.architecture,
    status: n.status,
    statusReason: n.statusReason,
    statusChangedAt: new Date(n.statusChangedAt).toISOString(),
    actions: allowedActions(n.status),
    macs: n.macs,
    ip: n.ip,
    powerType: n.powerType,
    powerParameters: n.powerParameters,
    sshKeys: n.sshKeys,
    deploy: n.deploy,
    inventory: n.inventory,
    createdAt: new Date(n.createdAt).toISOString(),
    updatedAt: new Date(n.updatedAt).toISOString(),
  };
}

export function eventView(e: NodeEvent): Record<string, unknown> {
  return {
    id: e.id,
    node: e.nodeId,
    time: new Date(e.time).toISOString(),
    type: e.type,
    summary: e.summary,
    data: e.data,
  };
}

async function jsonBody(ctx: HttpContext): Promise<Record<string, unknown>> {
  const raw = await ctx.body(BODY_LIMIT);
  if (raw.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

const INPUT_KEYS: Record<string, string> = {
  hostname: 'string',
  domain: 'string',
  architecture: 'string',
  macs: 'string[]',
  ip: 'string|null',
  powerType: 'string',
  powerParameters: 'object',
  sshKeys: 'string[]',
  deploy: 'object',
};

function checkType(where: string, v: unknown, t: string): void {
  const ok =
    (t.includes('null') && v === null) ||
    (t.startsWith('string[]') && Array.isArray(v) && v.every((x) => typeof x === 'string')) ||
    (t.startsWith('string') && !t.startsWith('string[]') && typeof v === 'string') ||
    (t === 'object' && typeof v === 'object' && v !== null && !Array.isArray(v));
  if (!ok) throw new ValidationError(where, `must be ${t}`);
}

function nodeInput(body: Record<string, unknown>): NodeInput {
  for (const [k, v] of Object.entries(body)) {
    const t = INPUT_KEYS[k];
    if (!t)
      throw new ValidationError(
        `body.${k}`,
        `unknown field (known: ${Object.keys(INPUT_KEYS).join(', ')})`,
      );
    checkType(`body.${k}`, v, t);
  }
  return body as NodeInput;
}

function intParam(q: URLSearchParams, name: string, dflt: number, max: number): number {
  const raw = q.get(name);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ValidationError(`?${name}`, `must be an integer 0..${max}`);
  return n;
}

function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (e instanceof ValidationError) return 400;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof TransitionError || e instanceof ConflictError) return 409;
  return 500;
}

export function adminHandler(controller: Controller, apiKey: () => string): Handler {
  return async (ctx) => {
    if (!(ctx.path === PREFIX || ctx.path.startsWith(PREFIX + '/'))) return false;
    const auth = ctx.req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m?.[1] || !safeEqual(m[1], apiKey())) {
      return (
        sendJson(ctx.res, 401, {
          error: 'missing or wrong API key (Authorization: Bearer <key>)',
        }) && true
      );
    }
    try {
      return await route(ctx, controller);
    } catch (e) {
      const status = statusOf(e);
      if (status === 500 && !(e instanceof PxmError)) throw e;
      const body: Record<string, unknown> = { error: e instanceof Error ? e.message : String(e) };
      if (e instanceof ValidationError) body.where = e.where;
      return sendJson(ctx.res, status, body);
    }
  };
}

async function route(ctx: HttpContext, c: Controller): Promise<boolean> {
  const parts = ctx.path.slice(PREFIX.length).split('/').filter(Boolean);
  const [coll, id, sub, arg, ...extra] = parts;
  const q = ctx.url.searchParams;
  if (coll === 'health' && !id) return sendJson(ctx.res, 200, { ok: true });
  if (coll !== 'nodes' || extra.length) throw new HttpError(404, `no such resource: ${ctx.path}`);

  if (!id) {
    if (ctx.method === 'GET') {
      const status = q.get('status')?.split(',').filter(Boolean) ?? [];
      for (const s of status)
        if (!isNodeStatus(s)) throw new ValidationError('?status', `unknown status ${s}`);
      const limit = intParam(q, 'limit', 100, 1000);
      const offset = intParam(q, 'offset', 0, 1e9);
      const r = c.listNodes({
        status: status as NodeStatus[],
        hostname: q.get('hostname') ?? undefined,
        mac: q.get('mac')?.toLowerCase() ?? undefined,
        architecture: q.get('architecture') ?? undefined,
        limit,
        offset,
      });
      return sendJson(ctx.res, 200, {
        items: r.items.map(nodeView),
        total: r.total,
        limit,
        offset,
      });
    }
    if (ctx.method === 'POST')
      return sendJson(ctx.res, 201, nodeView(c.createNode(nodeInput(await jsonBody(ctx)), 'api')));
    throw new HttpError(405, 'use GET or POST', { Allow: 'GET, POST' });
  }

  if (!sub) {
    if (ctx.method === 'GET') return sendJson(ctx.res, 200, nodeView(c.getNode(id)));
    if (ctx.method === 'PATCH')
      return sendJson(ctx.res, 200, nodeView(c.updateNode(id, nodeInput(await jsonBody(ctx)))));
    if (ctx.method === 'DELETE') {
      c.deleteNode(id);
      return send(ctx.res, 204);
    }
    throw new HttpError(405, 'use GET, PATCH or DELETE', { Allow: 'GET, PATCH, DELETE' });
  }

  if (sub === 'credentials' && !arg) {
    const n = c.getNode(id);
    return sendJson(ctx.res, 200, {
      id: n.id,
      consumerKey: n.credentials.consumerKey,
      tokenKey: n.credentials.tokenKey,
      tokenSecret: n.credentials.tokenSecret,
      metadataUrl: `http://${ctx.req.headers.host ?? 'localhost'}/MAAS/metadata/`,
    });
  }

  if (sub === 'actions' && arg) {
    if (ctx.method !== 'POST') throw new HttpError(405, 'use POST', { Allow: 'POST' });
    if (!isNodeAction(arg)) throw new HttpError(404, `no such action: ${arg}`);
    const body = await jsonBody(ctx);
    const comment = body.comment;
    if (comment !== undefined) checkType('body.comment', comment, 'string');
    const deploy = body.deploy;
    if (deploy !== undefined) checkType('body.deploy', deploy, 'object');
    const node = c.act(id, arg, {
      comment: comment as string | undefined,
      deploy: deploy as NodeInput['deploy'],
    });
    return sendJson(ctx.res, 200, nodeView(node));
  }

  if (sub === 'events' && !arg) {
    c.getNode(id);
    const after = intParam(q, 'after', 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(q, 'limit', 1000, 10000);
    return sendJson(ctx.res, 200, {
      items: c.store.listEvents(id, { afterId: after, limit }).map(eventView),
    });
  }

  if (sub === 'events' && arg === 'stream') return streamEvents(ctx, c, id);
  throw new HttpError(404, `no such resource: ${ctx.path}`);
}

/** Server-Sent Events: backlog after Last-Event-ID (or ?after), then live events. */
function streamEvents(ctx: HttpContext, c: Controller, id: string): boolean {
  c.getNode(id);
  const lastId =
    Number(ctx.req.headers['last-event-id'] ?? ctx.url.searchParams.get('after') ?? 0) || 0;
  ctx.res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  let sent = lastId;
  const write = (e: NodeEvent): void => {
    if (e.nodeId !== id || e.id <= sent) return;
    sent = e.id;
    ctx.res.write(`id: ${e.id}\nevent: node-event\ndata: ${JSON.stringify(eventView(e))}\n\n`);
  };
  // Subscribe first, then replay: an event landing in between is deduplicated by id.
  c.on('event', write);
  for (const e of c.store.listEvents(id, { afterId: lastId, limit: 10000 })) write(e);
  const ping = setInterval(() => ctx.res.write(': ping\n\n'), 15_000);
  ctx.res.on('close', () => {
    clearInterval(ping);
    c.off('event', write);
  });
  return true;
}
