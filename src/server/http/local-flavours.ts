// Unauthenticated metadata flavours: EC2-style (/latest/...) and NoCloud (/nocloud/<id>/).
// There are no credentials, so the only proof of identity is the source address: a
// request is answered with a node's data only when it comes from that node's own address
// (registered by the operator or, later, from a DHCP lease). Everyone else gets 404 and
// learns nothing. Proxies are not trusted (X-Forwarded-For is ignored).
import { randomBytes } from 'node:crypto';
import { HttpError, send, type Handler, type HttpContext } from './core.js';
import { baseUrlOf, type MetaData, type RequestInfo } from './maas-metadata.js';

export interface LocalBackend {
  /** The node whose registered address is `remote`. */
  nodeAt(remote: string): string | undefined;
  metaData(nodeId: string): MetaData | undefined;
  userData(nodeId: string, info: RequestInfo): Promise<Buffer | string | undefined>;
  /** Plain `#cloud-config` text (NoCloud vendor-data), or undefined. */
  vendorCloudConfig(nodeId: string): string | undefined;
  networkConfig(nodeId: string): string | undefined;
}

function notFound(): never {
  throw new HttpError(404, 'not found');
}

interface ImdsToken {
  remote: string;
  expires: number;
}

export function ec2Handler(backend: LocalBackend): Handler {
  const tokens = new Map<string, ImdsToken>();
  const prune = (now: number): void => {
    for (const [t, v] of tokens) if (v.expires < now) tokens.delete(t);
  };

  return async (ctx: HttpContext) => {
    if (!ctx.path.startsWith('/latest')) return false;
    const now = Date.now();
    if (ctx.path === '/latest/api/token') {
      if (ctx.method !== 'PUT') throw new HttpError(405, 'use PUT', { Allow: 'PUT' });
      // Like AWS: a forwarded request is a proxy doing someone else's bidding.
      if (ctx.req.headers['x-forwarded-for'])
        throw new HttpError(403, 'forwarded token requests are refused');
      const ttl = Number(ctx.req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600)
        throw new HttpError(400, 'X-aws-ec2-metadata-token-ttl-seconds must be 1..21600');
      if (!backend.nodeAt(ctx.remote)) notFound();
      prune(now);
      if (tokens.size > 100_000) throw new HttpError(503, 'too many outstanding tokens');
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, { remote: ctx.remote, expires: now + ttl * 1000 });
      return send(ctx.res, 200, token, { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    if (ctx.method !== 'GET') throw new HttpError(405, 'use GET', { Allow: 'GET' });
    const given = ctx.req.headers['x-aws-ec2-metadata-token'];
    if (typeof given === 'string') {
      // IMDSv2: a presented token must be live and issued to this address. A hash
      // lookup (192-bit random tokens: nothing to learn from its timing), not a scan of
      // every outstanding token per request.
      const v = tokens.get(given);
      if (!v || v.remote !== ctx.remote || v.expires < now)
        throw new HttpError(401, 'invalid or expired metadata token');
    }
    const id = backend.nodeAt(ctx.remote);
    if (!id) notFound();
    const md = backend.metaData(id) ?? notFound();
    const rest = ctx.path.slice('/latest'.length).replace(/^\//, '');
    if (rest === '') return send(ctx.res, 200, 'meta-data/\nuser-data\n');
    if (rest === 'user-data') {
      const ud = await backend.userData(id, { baseUrl: baseUrlOf(ctx), remote: ctx.remote });
      return ud
        ? send(ctx.res, 200, ud, { 'Content-Type': 'application/octet-stream' })
        : notFound();
    }
    const tree: Record<string, string | undefined> = {
      'instance-id': md.instanceId,
      'local-hostname': md.localHostname,
      hostname: md.localHostname,
      'local-ipv4': ctx.remote.includes(':') ? undefined : ctx.remote,
    };
    if (rest === 'meta-data/' || rest === 'meta-data') {
      const keys = Object.keys(tree).filter((k) => tree[k] !== undefined);
      if (md.publicKeys.length) keys.push('public-keys/');
      return send(ctx.res, 200, keys.join('\n'));
    }
    const m = /^meta-data\/(.+)$/.exec(rest);
    if (!m?.[1]) notFound();
    const key = m[1];
    if (key === 'public-keys/' || key === 'public-keys') {
      if (!md.publicKeys.length) notFound();
      return send(ctx.res, 200, md.publicKeys.map((_, i) => `${i}=key${i}`).join('\n'));
    }
    const pk = /^public-keys\/(\d+)(\/|\/openssh-key)?$/.exec(key);
    if (pk) {
      const k = md.publicKeys[Number(pk[1])] ?? notFound();
      return send(ctx.res, 200, pk[2] === '/openssh-key' ? k : 'openssh-key');
    }
    const v = tree[key];
    return v === undefined ? notFound() : send(ctx.res, 200, v);
  };
}

export function noCloudHandler(backend: LocalBackend): Handler {
  return async (ctx: HttpContext) => {
    const m = /^\/nocloud\/([^/]+)\/(meta-data|user-data|vendor-data|network-config)$/.exec(
      ctx.path,
    );
    if (!m) {
      if (ctx.path.startsWith('/nocloud/')) notFound();
      return false;
    }
    if (ctx.method !== 'GET') throw new HttpError(405, 'use GET', { Allow: 'GET' });
    const [, nodeId, file] = m;
    // The id in the path must be the node at the caller's address: same 404 otherwise.
    if (backend.nodeAt(ctx.remote) !== nodeId || !nodeId) notFound();
    const md = backend.metaData(nodeId) ?? notFound();
    if (file === 'meta-data') {
      const lines = [`instance-id: ${md.instanceId}`, `local-hostname: ${md.localHostname}`];
      if (md.publicKeys.length)
        lines.push('public-keys:', ...md.publicKeys.map((k) => `  - ${JSON.stringify(k)}`));
      return send(ctx.res, 200, lines.join('\n') + '\n');
    }
    if (file === 'user-data') {
      const ud = await backend.userData(nodeId, { baseUrl: baseUrlOf(ctx), remote: ctx.remote });
      // NoCloud requires the file to exist; an empty body means "no user-data".
      return send(ctx.res, 200, ud ?? '');
    }
    if (file === 'vendor-data') return send(ctx.res, 200, backend.vendorCloudConfig(nodeId) ?? '');
    const nc = backend.networkConfig(nodeId);
    return nc === undefined ? notFound() : send(ctx.res, 200, nc);
  };
}
