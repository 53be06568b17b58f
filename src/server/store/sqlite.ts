// SQLite store (better-sqlite3). Durability: WAL journal with synchronous=FULL, so a
// write is fsynced before the HTTP answer that acknowledges it: it survives SIGKILL and
// power loss. (WAL with synchronous=NORMAL would already survive a process crash, since
// committed frames sit in the OS page cache; FULL also covers power loss, and the
// controller's write rate — status changes, events — is far below an fsync's cost.)
//
// better-sqlite3 is a native addon that the one-file bundle leaves external: it is
// loaded here, lazily, so every other pxm command (and the installer) runs without it.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { PxmError } from '../../util/errors.js';
import type { NodeStatus } from '../lifecycle.js';
import type { NodeEvent, NodeFilter, NodePatch, NodeRecord, Store } from './types.js';
import { MIGRATIONS } from './migrations.js';
import { acquireLock, type FileLock } from './lock-file.js';

type Database = BetterSqlite3.Database;

export function loadDriver(): typeof BetterSqlite3 {
  try {
    const req = createRequire(import.meta.url);
    return req('better-sqlite3') as typeof BetterSqlite3;
  } catch (e) {
    throw new PxmError('the server store needs the better-sqlite3 module', {
      cause: e,
      hint: 'run pxm server from an installation with node_modules (npm ci)',
    });
  }
}

export interface NodeRow {
  id: string;
  hostname: string;
  domain: string;
  architecture: string;
  status: string;
  status_reason: string | null;
  status_changed_at: number;
  ip: string | null;
  power_type: string;
  power_parameters: string;
  ssh_keys: string;
  consumer_key: string;
  token_key: string;
  token_secret: string;
  deploy: string;
  inventory: string | null;
  created_at: number;
  updated_at: number;
  version: number;
}

interface EventRow {
  id: number;
  node_id: string;
  time: number;
  type: string;
  summary: string;
  data: string | null;
}

/** A node row and its MACs (in position order) as a NodeRecord: shared with SqliteReader. */
export function nodeFromRow(row: NodeRow, macs: string[]): NodeRecord {
  return {
    id: row.id,
    hostname: row.hostname,
    domain: row.domain,
    architecture: row.architecture,
    status: row.status as NodeStatus,
    statusReason: row.status_reason,
    statusChangedAt: row.status_changed_at,
    macs,
    ip: row.ip,
    powerType: row.power_type,
    powerParameters: JSON.parse(row.power_parameters) as Record<string, unknown>,
    sshKeys: JSON.parse(row.ssh_keys) as string[],
    credentials: {
      consumerKey: row.consumer_key,
      tokenKey: row.token_key,
      tokenSecret: row.token_secret,
    },
    deploy: JSON.parse(row.deploy) as NodeRecord['deploy'],
    inventory: row.inventory === null ? null : (JSON.parse(row.inventory) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export class SqliteStore implements Store {
  private readonly db: Database;
  private readonly stmts;
  /** Node versions as last written by this process (the only writer). */
  private readonly versions = new Map<string, number>();
  private readonly lock: FileLock;

  constructor(file: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}) {
    const Driver = loadDriver();
    // One server per data dir: the lock file makes a second `pxm server` on the same
    // directory fail at start instead of both writing. It also makes this process the
    // only writer, which is what lets `versions` below live in memory. (Not SQLite's
    // EXCLUSIVE locking mode: the HTTP workers must be able to read beside us.)
    this.lock = acquireLock(`${file}.lock`, `the database ${file}`);
    let db: Database | undefined;
    try {
      db = new Driver(file, { timeout: 2000 });
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      this.db = db;
      this.migrate();
    } catch (e) {
      db?.close();
      this.lock.release();
      if (e instanceof PxmError) throw e;
      throw new PxmError(`cannot open the database ${file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.stmts = {
      getNode: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE id = ?'),
      getByToken: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE token_key = ?'),
      getByMac: db.prepare<[string], NodeRow>(
        'SELECT n.* FROM nodes n JOIN macs m ON m.node_id = n.id WHERE m.mac = ?',
      ),
      getByIp: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE ip = ? LIMIT 1'),
      version: db.prepare<[string], { version: number }>('SELECT version FROM nodes WHERE id = ?'),
      macsOf: db.prepare<[string], { mac: string }>(
        'SELECT mac FROM macs WHERE node_id = ? ORDER BY position',
      ),
      insertNode: db.prepare(
        `INSERT INTO nodes (id, hostname, domain, architecture, status, status_reason,
           status_changed_at, ip, power_type, power_parameters, ssh_keys, consumer_key,
           token_key, token_secret, deploy, inventory, created_at, updated_at, version)
         VALUES (@id, @hostname, @domain, @architecture, @status, @status_reason,
           @status_changed_at, @ip, @power_type, @power_parameters, @ssh_keys, @consumer_key,
           @token_key, @token_secret, @deploy, @inventory, @created_at, @updated_at, @version)`,
      ),
      deleteMacs: db.prepare<[string]>('DELETE FROM macs WHERE node_id = ?'),
      insertMac: db.prepare<[string, string, number]>(
        'INSERT INTO macs (mac, node_id, position) VALUES (?, ?, ?)',
      ),
      deleteNode: db.prepare<[string]>('DELETE FROM nodes WHERE id = ?'),
      casStatus: db.prepare<[string, string | null, number, number, string, string]>(
        `UPDATE nodes SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?,
           version = version + 1
         WHERE id = ? AND status = ?`,
      ),
      stuck: db.prepare<[string, number], NodeRow>(
        'SELECT * FROM nodes WHERE status = ? AND status_changed_at < ?',
      ),
      addEvent: db.prepare<[string, number, string, string, string | null]>(
        'INSERT INTO events (node_id, time, type, summary, data) VALUES (?, ?, ?, ?, ?)',
      ),
      events: db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE node_id = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      getSetting: db.prepare<[string], { value: string }>(
        'SELECT value FROM settings WHERE key = ?',
      ),
      setSetting: db.prepare<[string, string]>(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  /** Applies every migration above PRAGMA user_version, each in its own transaction. */
  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new PxmError(
        `the data dir's schema is version ${current}, newer than this pxm (${MIGRATIONS.length})`,
        { hint: 'run the pxm version that created it, or a newer one' },
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] ?? '');
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private toNode(row: NodeRow): NodeRecord {
    return nodeFromRow(
      row,
      this.stmts.macsOf.all(row.id).map((m) => m.mac),
    );
  }

  private toRow(n: NodeRecord): NodeRow {
    return {
      id: n.id,
      hostname: n.hostname,
      domain: n.domain,
      architecture: n.architecture,
      status: n.status,
      status_reason: n.statusReason,
      status_changed_at: n.statusChangedAt,
      ip: n.ip,
      power_type: n.powerType,
      power_parameters: JSON.stringify(n.powerParameters),
      ssh_keys: JSON.stringify(n.sshKeys),
      consumer_key: n.credentials.consumerKey,
      token_key: n.credentials.tokenKey,
      token_secret: n.credentials.tokenSecret,
      deploy: JSON.stringify(n.deploy),
      inventory:
        n.inventory === null || n.inventory === undefined ? null : JSON.stringify(n.inventory),
      created_at: n.createdAt,
      updated_at: n.updatedAt,
      version: n.version,
    };
  }

  private writeMacs(id: string, macs: string[]): void {
    this.stmts.deleteMacs.run(id);
    macs.forEach((mac, i) => this.stmts.insertMac.run(mac, id, i));
  }

  createNode(node: NodeRecord): void {
    this.db.transaction(() => {
      this.stmts.insertNode.run(this.toRow(node));
      this.writeMacs(node.id, node.macs);
    })();
    this.versions.set(node.id, node.version);
  }

  getNode(id: string): NodeRecord | undefined {
    const row = this.stmts.getNode.get(id);
    return row && this.toNode(row);
  }

  getNodeByMac(mac: string): NodeRecord | undefined {
    const row = this.stmts.getByMac.get(mac);
    return row && this.toNode(row);
  }

  getNodeByTokenKey(tokenKey: string): NodeRecord | undefined {
    const row = this.stmts.getByToken.get(tokenKey);
    return row && this.toNode(row);
  }

  getNodeVersion(id: string): number | undefined {
    const v = this.versions.get(id);
    if (v !== undefined) return v;
    const row = this.stmts.version.get(id);
    if (row) this.versions.set(id, row.version);
    return row?.version;
  }

  getNodeByIp(ip: string): NodeRecord | undefined {
    const row = this.stmts.getByIp.get(ip);
    return row && this.toNode(row);
  }

  listNodes(filter: NodeFilter): { items: NodeRecord[]; total: number } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      args.push(...filter.status);
    }
    if (filter.hostname) {
      // GLOB: `web*` matches a family of names; a plain name matches itself only.
      where.push('hostname GLOB ?');
      args.push(filter.hostname);
    }
    if (filter.architecture) {
      where.push('architecture = ?');
      args.push(filter.architecture);
    }
    if (filter.mac) {
      where.push('id IN (SELECT node_id FROM macs WHERE mac = ?)');
      args.push(filter.mac);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      this.db.prepare(`SELECT count(*) AS c FROM nodes ${w}`).get(...args) as { c: number }
    ).c;
    const rows = this.db
      .prepare(`SELECT * FROM nodes ${w} ORDER BY hostname, id LIMIT ? OFFSET ?`)
      .all(...args, filter.limit ?? 100, filter.offset ?? 0) as NodeRow[];
    return { items: rows.map((r) => this.toNode(r)), total };
  }

  updateNode(id: string, patch: NodePatch): NodeRecord | undefined {
    const result = this.db.transaction(() => {
      const cur = this.getNode(id);
      if (!cur) return undefined;
      const next: NodeRecord = {
        ...cur,
        ...patch,
        updatedAt: Date.now(),
        version: cur.version + 1,
      };
      const row = this.toRow(next);
      this.db
        .prepare(
          `UPDATE nodes SET hostname=@hostname, domain=@domain, architecture=@architecture,
             status=@status, status_reason=@status_reason, status_changed_at=@status_changed_at,
             ip=@ip, power_type=@power_type, power_parameters=@power_parameters,
             ssh_keys=@ssh_keys, deploy=@deploy, inventory=@inventory, updated_at=@updated_at,
             version=version + 1
           WHERE id=@id`,
        )
        .run(row);
      if (patch.macs) this.writeMacs(id, patch.macs);
      return next;
    })();
    if (result) this.versions.set(id, result.version);
    return result;
  }

  compareAndSetStatus(
    id: string,
    from: NodeStatus,
    to: NodeStatus,
    reason: string | null,
    now: number,
  ): NodeRecord | undefined {
    const r = this.stmts.casStatus.run(to, reason, now, now, id, from);
    if (r.changes !== 1) return undefined;
    const n = this.getNode(id);
    if (n) this.versions.set(id, n.version);
    return n;
  }

  deleteNode(id: string): boolean {
    this.versions.delete(id);
    return this.stmts.deleteNode.run(id).changes === 1;
  }

  nodesStuckSince(status: NodeStatus, before: number): NodeRecord[] {
    return this.stmts.stuck.all(status, before).map((r) => this.toNode(r));
  }

  addEvent(ev: Omit<NodeEvent, 'id'>): NodeEvent {
    const r = this.stmts.addEvent.run(
      ev.nodeId,
      ev.time,
      ev.type,
      ev.summary,
      ev.data === undefined ? null : JSON.stringify(ev.data),
    );
    return { ...ev, id: Number(r.lastInsertRowid) };
  }

  listEvents(nodeId: string, opts: { afterId?: number; limit?: number }): NodeEvent[] {
    return this.stmts.events.all(nodeId, opts.afterId ?? 0, opts.limit ?? 1000).map((r) => ({
      id: r.id,
      nodeId: r.node_id,
      time: r.time,
      type: r.type,
      summary: r.summary,
      data: r.data === null ? null : (JSON.parse(r.data) as unknown),
    }));
  }

  getSetting(key: string): string | undefined {
    return this.stmts.getSetting.get(key)?.value;
  }

  setSetting(key: string, value: string): void {
    this.stmts.setSetting.run(key, value);
  }

  close(): void {
    // A clean close checkpoints the WAL into the main file.
    this.db.close();
    this.lock.release();
  }
}
