// HTTP client for the pxm admin API (/api/v1), used by `pxm nodes`. Maps HTTP failures
// to PxmError exit codes so scripts can tell "not found" from "unauthorized".
import { ExitCode, PxmError } from '../util/errors.js';

// undici is half the bundle; loaded on the first request, not when a command module is
// imported (start-up time, docs/benchmarks/startup.md).
const loadUndici = (): Promise<typeof import('undici')> => import('undici');

export interface ApiNode {
  id: string;
  hostname: string;
  domain: string;
  fqdn: string;
  architecture: string;
  status: string;
  statusReason: string | null;
  statusChangedAt: string;
  actions: string[];
  macs: string[];
  ip: string | null;
  powerType: string;
  powerParameters: Record<string, unknown>;
  sshKeys: string[];
  deploy: { configs: string[]; source: string | null; netboot: boolean; userData: string | null };
  inventory: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface ApiEvent {
  id: number;
  node: string;
  time: string;
  type: string;
  summary: string;
  data: unknown;
}

export interface ApiCredentials {
  id: string;
  consumerKey: string;
  tokenKey: string;
  tokenSecret: string;
  metadataUrl: string;
}

export interface NodeQuery {
  status?: string[];
  hostname?: string;
  mac?: string;
  architecture?: string;
  limit?: number;
  offset?: number;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private url(path: string): string {
    return this.baseUrl.replace(/\/+$/, '') + '/api/v1' + path;
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    let res;
    try {
      const { request } = await loadUndici();
      res = await request(this.url(path), {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new PxmError(
        `cannot reach the pxm server at ${this.baseUrl}: ${(e as Error).message}`,
        {
          hint: 'check PXM_URL or `pxm login URL KEY`',
        },
      );
    }
    const text = await res.body.text();
    if (res.statusCode === 204) return undefined as T;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 400) {
      const msg =
        (json as { error?: string } | undefined)?.error ?? text.trim() ?? `HTTP ${res.statusCode}`;
      const exitCode =
        res.statusCode === 401
          ? ExitCode.UNAUTHORIZED
          : res.statusCode === 404
            ? ExitCode.NOT_FOUND
            : res.statusCode === 400
              ? ExitCode.INVALID
              : ExitCode.ERROR;
      throw new PxmError(msg, {
        exitCode,
        hint:
          res.statusCode === 401
            ? 'the API key is wrong: run `pxm apikey` on the server and `pxm login`'
            : undefined,
      });
    }
    return json as T;
  }

  listNodes(
    q: NodeQuery = {},
  ): Promise<{ items: ApiNode[]; total: number; limit: number; offset: number }> {
    const p = new URLSearchParams();
    if (q.status?.length) p.set('status', q.status.join(','));
    if (q.hostname) p.set('hostname', q.hostname);
    if (q.mac) p.set('mac', q.mac);
    if (q.architecture) p.set('architecture', q.architecture);
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    if (q.offset !== undefined) p.set('offset', String(q.offset));
    const qs = p.toString();
    return this.call('GET', `/nodes${qs ? `?${qs}` : ''}`);
  }

  /** Resolves an id or a host name to a node. */
  async findNode(idOrHostname: string): Promise<ApiNode> {
    try {
      return await this.call<ApiNode>('GET', `/nodes/${encodeURIComponent(idOrHostname)}`);
    } catch (e) {
      if (!(e instanceof PxmError) || e.exitCode !== ExitCode.NOT_FOUND) throw e;
      const byName = await this.listNodes({ hostname: idOrHostname, limit: 2 });
      if (byName.items.length === 1 && byName.items[0]) return byName.items[0];
      throw new PxmError(`no node with id or host name ${idOrHostname}`, {
        exitCode: ExitCode.NOT_FOUND,
      });
    }
  }

  createNode(input: Record<string, unknown>): Promise<ApiNode> {
    return this.call('POST', '/nodes', input);
  }
  updateNode(id: string, input: Record<string, unknown>): Promise<ApiNode> {
    return this.call('PATCH', `/nodes/${encodeURIComponent(id)}`, input);
  }
  deleteNode(id: string): Promise<void> {
    return this.call('DELETE', `/nodes/${encodeURIComponent(id)}`);
  }
  action(id: string, action: string, body: Record<string, unknown> = {}): Promise<ApiNode> {
    return this.call('POST', `/nodes/${encodeURIComponent(id)}/actions/${action}`, body);
  }
  credentials(id: string): Promise<ApiCredentials> {
    return this.call('GET', `/nodes/${encodeURIComponent(id)}/credentials`);
  }
  async events(id: string, after = 0): Promise<ApiEvent[]> {
    const r = await this.call<{ items: ApiEvent[] }>(
      'GET',
      `/nodes/${encodeURIComponent(id)}/events?after=${after}`,
    );
    return r.items;
  }

  /** Follows the SSE stream, calling onEvent for each event until `signal` aborts. */
  async followEvents(
    id: string,
    after: number,
    onEvent: (e: ApiEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { request } = await loadUndici();
    const res = await request(
      this.url(`/nodes/${encodeURIComponent(id)}/events/stream?after=${after}`),
      {
        headers: { authorization: `Bearer ${this.apiKey}`, accept: 'text/event-stream' },
        signal,
      },
    ).catch((e: unknown) => {
      if (signal.aborted) return undefined;
      throw new PxmError(`cannot reach the pxm server at ${this.baseUrl}: ${(e as Error).message}`);
    });
    if (!res) return;
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new PxmError(`event stream: HTTP ${res.statusCode} ${text.trim()}`, {
        exitCode:
          res.statusCode === 404
            ? ExitCode.NOT_FOUND
            : res.statusCode === 401
              ? ExitCode.UNAUTHORIZED
              : ExitCode.ERROR,
      });
    }
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) onEvent(JSON.parse(data) as ApiEvent);
        }
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }
}
