// What an HTTP worker answers itself: OAuth-verified MAAS metadata reads (meta-data and
// user-data, every metadata version) from its read-only database connection. Anything
// with work or a side effect throws ForwardToMain, and the worker passes the request,
// untouched, to the main process (src/server/http/forward.ts), which decides it once.
import type { Handler } from '../http/core.js';
import {
  LATER,
  METADATA_VERSIONS,
  type MetaData,
  type MetadataBackend,
  type RequestInfo,
} from '../http/maas-metadata.js';
import type { TokenOwner } from '../http/oauth-verify.js';
import type { NodeSnapshots } from '../node-snapshots.js';
import { enlistScript } from '../userdata.js';

/** Thrown by the worker's backend: this request is the main process's to answer. */
export class ForwardToMain extends Error {
  constructor() {
    super('answered by the main process');
    this.name = 'ForwardToMain';
  }
}

function forward(): never {
  throw new ForwardToMain();
}

export class ReadOnlyMetadata implements MetadataBackend {
  constructor(private readonly nodes: NodeSnapshots) {}

  nodeByToken(tokenKey: string): TokenOwner | undefined {
    return this.nodes.nodeByToken(tokenKey);
  }

  metaData(nodeId: string): MetaData | undefined {
    return this.nodes.metaData(nodeId);
  }

  userDataNow(nodeId: string): Buffer | undefined | typeof LATER {
    return this.nodes.userDataNow(nodeId);
  }

  /** Only asked when userDataNow said LATER: that is the main process's to answer. */
  userData(): Promise<Buffer | undefined> {
    return Promise.reject(new ForwardToMain());
  }

  enlistUserData(info: RequestInfo): Buffer {
    return Buffer.from(enlistScript({ base: info.baseUrl }));
  }

  signal = forward;
  netbootOff = forward;
  webhook = forward;
  preseed = forward;
  enlistPreseed = forward;
  netbootOffAnonymous = forward;
}

const PREFIX = '/MAAS/metadata';
const LOCAL_PARTS = new Set([undefined, 'meta-data', 'user-data']);

/**
 * GETs of `/MAAS/metadata/`, `/<version>/`, `/<version>/meta-data/...` and
 * `/<version>/user-data` are read locally; preseeds, signals, webhooks and anything
 * else go to the main process.
 */
export function isLocalRead(method: string, path: string): boolean {
  if (method !== 'GET' || !path.startsWith(PREFIX)) return false;
  const parts = path.slice(PREFIX.length).split('/').filter(Boolean);
  if (parts.length === 0) return true;
  return (
    (METADATA_VERSIONS as readonly string[]).includes(parts[0] ?? '') && LOCAL_PARTS.has(parts[1])
  );
}

/** `reads` for the local metadata reads, `forward` for everything else. */
export function readsOrForward(reads: Handler, forward: Handler): Handler {
  return async (ctx) => {
    if (!isLocalRead(ctx.method, ctx.path)) return forward(ctx);
    try {
      return await reads(ctx);
    } catch (e) {
      if (e instanceof ForwardToMain) return forward(ctx);
      throw e;
    }
  };
}
