// Per-node answers cached by node version, and token -> node lookups: what makes a
// metadata read cheap. Shared by the main process's MetadataPolicy (over the SqliteStore,
// whose version reads are in memory) and the HTTP workers' read-only backend (over a
// SqliteReader: one indexed read per request, since another process writes).
import { expectedCredential, type TokenOwner } from './http/oauth-verify.js';
import { LATER, type MetaData } from './http/maas-metadata.js';
import type { NodeReads, NodeRecord } from './store/types.js';
import { vendorData } from './userdata.js';

/**
 * The user-data answer that is a plain read of the node row (undefined: none, 404), or
 * LATER when answering builds something or changes state: the commissioning program,
 * the installer (a build), and the installed OS's first read (DEPLOYING with netboot
 * off), which marks the node DEPLOYED. HTTP workers and the fast lane answer the plain
 * reads and pass the others on, so each side effect happens once, in the main process.
 */
export function storedUserData(n: NodeRecord): string | undefined | typeof LATER {
  if (n.status === 'DEPLOYED') return n.deploy.userData ?? undefined;
  if (n.status === 'COMMISSIONING' || n.status === 'DEPLOYING') return LATER;
  return undefined;
}

/** What is rendered once per node version and then served from memory. */
interface Snapshot {
  node: NodeRecord;
  metaData?: MetaData;
  /** storedUserData, encoded once; null until first asked. */
  userData: Buffer | undefined | typeof LATER | null;
}

const CACHE_LIMIT = 50_000;

export class NodeSnapshots {
  // Answers are rendered once per node version; each request costs one version read.
  // Credentials never change, so token lookups are cached outright (existence is
  // checked per request).
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly tokens = new Map<string, TokenOwner>();

  constructor(private readonly store: NodeReads) {}

  private snapshot(id: string): Snapshot | undefined {
    const version = this.store.getNodeVersion(id);
    if (version === undefined) {
      this.snapshots.delete(id);
      return undefined;
    }
    let s = this.snapshots.get(id);
    if (!s || s.node.version !== version) {
      const node = this.store.getNode(id);
      if (!node) return undefined;
      if (this.snapshots.size >= CACHE_LIMIT) this.snapshots.clear();
      s = { node, userData: null };
      this.snapshots.set(id, s);
    }
    return s;
  }

  /** The node as of its current version (cached while the version stands). */
  node(id: string): NodeRecord | undefined {
    return this.snapshot(id)?.node;
  }

  nodeByToken(tokenKey: string): TokenOwner | undefined {
    let owner = this.tokens.get(tokenKey);
    if (!owner) {
      const n = this.store.getNodeByTokenKey(tokenKey);
      if (!n) return undefined;
      owner = {
        nodeId: n.id,
        consumerKey: n.credentials.consumerKey,
        tokenSecret: n.credentials.tokenSecret,
      };
      owner.credential = expectedCredential(owner);
      if (this.tokens.size >= CACHE_LIMIT) this.tokens.clear();
      this.tokens.set(tokenKey, owner);
    } else if (this.store.getNodeVersion(owner.nodeId) === undefined) {
      this.tokens.delete(tokenKey); // the node was deleted: its credentials died with it
      return undefined;
    }
    return owner;
  }

  /** `storedUserData` of the node as of its current version, as bytes. */
  userDataNow(nodeId: string): Buffer | undefined | typeof LATER {
    const s = this.snapshot(nodeId);
    if (!s) return undefined;
    if (s.userData === null) {
      const u = storedUserData(s.node);
      s.userData = typeof u === 'string' ? Buffer.from(u) : u;
    }
    return s.userData;
  }

  metaData(nodeId: string): MetaData | undefined {
    const s = this.snapshot(nodeId);
    if (!s) return undefined;
    const n = s.node;
    s.metaData ??= {
      instanceId: n.id,
      localHostname: n.hostname,
      publicKeys: n.sshKeys,
      vendorData: vendorData(n),
    };
    return s.metaData;
  }
}
