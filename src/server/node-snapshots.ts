// Per-node answers cached by node version, and token -> node lookups: what makes a
// metadata read cheap. Shared by the main process's MetadataPolicy (over the SqliteStore,
// whose version reads are in memory) and the HTTP workers' read-only backend (over a
// SqliteReader: one indexed read per request, since another process writes).
import { plaintextSignature } from '../oauth/plaintext.js';
import type { TokenOwner } from './http/oauth-verify.js';
import type { MetaData } from './http/maas-metadata.js';
import type { NodeReads, NodeRecord } from './store/types.js';
import { vendorData } from './userdata.js';

/** What is rendered once per node version and then served from memory. */
interface Snapshot {
  node: NodeRecord;
  metaData?: MetaData;
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
      s = { node };
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
        signature: plaintextSignature('', n.credentials.tokenSecret),
      };
      if (this.tokens.size >= CACHE_LIMIT) this.tokens.clear();
      this.tokens.set(tokenKey, owner);
    } else if (this.store.getNodeVersion(owner.nodeId) === undefined) {
      this.tokens.delete(tokenKey); // the node was deleted: its credentials died with it
      return undefined;
    }
    return owner;
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
