// The controller's persistent state behind a small interface, so the embedded SQLite
// store can later be joined by a PostgreSQL one for several controllers.
import type { NodeStatus } from '../lifecycle.js';

export interface DeploySettings {
  /** Operator's install configs (curtin YAML documents as text), merged in order. */
  configs: string[];
  /** Image source for the install (curtin `sources` URL), or null for the configs' own. */
  source: string | null;
  /** While true the node netboots into the installer; the installer turns it off. */
  netboot: boolean;
  /** user-data served to the installed OS (optional). */
  userData: string | null;
}

export interface NodeCredentials {
  consumerKey: string;
  tokenKey: string;
  tokenSecret: string;
}

export interface NodeRecord {
  id: string;
  hostname: string;
  domain: string;
  architecture: string;
  status: NodeStatus;
  /** Why the node is in its status (failure cause, operator comment). */
  statusReason: string | null;
  /** Epoch ms of the last status change: the timeout sweep measures from here. */
  statusChangedAt: number;
  macs: string[];
  /** The node's own address (static or from a lease): unauthenticated flavours trust it. */
  ip: string | null;
  powerType: string;
  powerParameters: Record<string, unknown>;
  sshKeys: string[];
  credentials: NodeCredentials;
  deploy: DeploySettings;
  inventory: unknown;
  createdAt: number;
  updatedAt: number;
  /** Bumped by every change to the node: a cache key. */
  version: number;
}

export interface NodeEvent {
  id: number;
  nodeId: string;
  time: number;
  /** e.g. status, webhook, signal, action, error. */
  type: string;
  /** Short human-readable summary. */
  summary: string;
  /** Structured detail (webhook event body without file contents, etc.). */
  data: unknown;
}

export interface NodeFilter {
  status?: NodeStatus[];
  hostname?: string;
  mac?: string;
  architecture?: string;
  limit?: number;
  offset?: number;
}

export type NodePatch = Partial<
  Pick<
    NodeRecord,
    | 'hostname'
    | 'domain'
    | 'architecture'
    | 'status'
    | 'statusReason'
    | 'statusChangedAt'
    | 'macs'
    | 'ip'
    | 'powerType'
    | 'powerParameters'
    | 'sshKeys'
    | 'deploy'
    | 'inventory'
  >
>;

export interface Store {
  createNode(node: NodeRecord): void;
  getNode(id: string): NodeRecord | undefined;
  getNodeByMac(mac: string): NodeRecord | undefined;
  getNodeByTokenKey(tokenKey: string): NodeRecord | undefined;
  getNodeByIp(ip: string): NodeRecord | undefined;
  /** The node's current version, or undefined when it does not exist (cheap). */
  getNodeVersion(id: string): number | undefined;
  listNodes(filter: NodeFilter): { items: NodeRecord[]; total: number };
  /** Applies the patch; returns the updated node, or undefined when it does not exist. */
  updateNode(id: string, patch: NodePatch): NodeRecord | undefined;
  /**
   * Atomically moves a node from one status to another: returns undefined when the node's
   * status is no longer `from` (another request won), so concurrent signals apply once.
   */
  compareAndSetStatus(
    id: string,
    from: NodeStatus,
    to: NodeStatus,
    reason: string | null,
    now: number,
  ): NodeRecord | undefined;
  deleteNode(id: string): boolean;
  /** Nodes in `status` whose status changed before `before` (epoch ms). */
  nodesStuckSince(status: NodeStatus, before: number): NodeRecord[];
  addEvent(ev: Omit<NodeEvent, 'id'>): NodeEvent;
  listEvents(nodeId: string, opts: { afterId?: number; limit?: number }): NodeEvent[];
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
  close(): void;
}

/**
 * The reads that answer metadata requests: what the metadata caches need, and all a
 * read-only replica (an HTTP worker's connection, store/sqlite-reader.ts) offers.
 */
export type NodeReads = Pick<Store, 'getNode' | 'getNodeByTokenKey' | 'getNodeVersion'>;
