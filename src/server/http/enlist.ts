// Anonymous enlistment as MAAS's ephemeral environment does it:
// POST /MAAS/api/2.0/machines/ (or 1.0 /nodes/ with op=new) and ?op=is_registered.
// Anonymous writes are rate limited per source address and overall.
import { HttpError, sendJson, type Handler } from './core.js';
import { parseForm, field, type Form } from './form.js';

export interface EnlistBackend {
  isRegistered(mac: string): boolean;
  /** Creates the node (or returns the existing one for a known MAC). */
  enlist(
    form: Form,
    remote: string,
  ): { systemId: string; hostname: string; status: string; created: boolean };
}

/** Token bucket: `rate` requests per second with bursts of `burst`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}
  take(key: string, now = Date.now()): boolean {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (this.buckets.size > 10_000) this.buckets.clear(); // bounded memory under a flood
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export interface EnlistLimits {
  perAddress: RateLimiter;
  global: RateLimiter;
}

export function defaultEnlistLimits(): EnlistLimits {
  return { perAddress: new RateLimiter(1, 5), global: new RateLimiter(20, 100) };
}

export function enlistHandler(
  backend: EnlistBackend,
  limits: EnlistLimits = defaultEnlistLimits(),
): Handler {
  return async (ctx) => {
    const m = /^\/MAAS\/api\/(2\.0\/machines|1\.0\/nodes)\/?$/.exec(ctx.path);
    if (!m) return false;
    const v1 = m[1] === '1.0/nodes';
    const form =
      ctx.method === 'POST'
        ? parseForm(
            await ctx.body(64 * 1024),
            ctx.req.headers['content-type'],
            ctx.url.searchParams,
          )
        : parseForm(Buffer.alloc(0), undefined, ctx.url.searchParams);
    const op = field(form, 'op');
    if (op === 'is_registered') {
      const mac = field(form, 'mac_address');
      if (!mac) throw new HttpError(400, 'is_registered needs mac_address');
      return sendJson(ctx.res, 200, backend.isRegistered(mac));
    }
    if (ctx.method !== 'POST') throw new HttpError(405, 'enlist with POST', { Allow: 'POST' });
    if (v1 && op !== 'new') throw new HttpError(400, 'the 1.0 API enlists with op=new');
    if (!v1 && op !== undefined && op !== 'create')
      throw new HttpError(400, `unknown op ${JSON.stringify(op)}`);
    if (!limits.perAddress.take(ctx.remote) || !limits.global.take('*'))
      throw new HttpError(429, 'enlistment rate limit reached; retry later', {
        'Retry-After': '5',
      });
    const r = backend.enlist(form, ctx.remote);
    return sendJson(ctx.res, 200, {
      system_id: r.systemId,
      hostname: r.hostname,
      status_name: r.status,
    });
  };
}
