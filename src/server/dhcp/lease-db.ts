// Durable DHCP leases with group commit. A lease may be acknowledged (DHCPACK sent) only
// once it is on disk; fsyncing once per ACK would cap the server at a few hundred ACKs/s,
// so writes queue up for a short window (default 2 ms, or until the batch is full) and go
// to disk in ONE transaction, after which every ACK of that batch is released.
//
// The file is <data-dir>/dhcp-leases.sqlite, separate from the controller's pxm.sqlite:
// that database is opened with locking_mode=EXCLUSIVE by its store (one connection), and
// lease writes are a different workload (thousands per second, batched) that should not
// queue behind or in front of node writes. WAL journal with synchronous=FULL: the WAL is
// fsynced at each commit, so a committed batch survives SIGKILL and power loss.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { PxmError } from '../../util/errors.js';

export interface LeaseRow {
  mac: string;
  ip: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** What the DHCP engine needs from durable storage. */
export interface LeaseStore {
  loadAll(): LeaseRow[];
  /** Resolves once the lease is durably written (or rejects if the commit failed). */
  put(lease: LeaseRow): Promise<void>;
  /** Resolves once the lease for this MAC is durably gone. */
  remove(mac: string): Promise<void>;
  close(): void;
}

type Op = { kind: 'put'; lease: LeaseRow } | { kind: 'remove'; mac: string };

export interface GroupCommitOptions {
  /** How long a write waits for others to join its transaction. */
  windowMs?: number;
  /** Flush early when this many writes are pending. */
  maxBatch?: number;
}

export class SqliteLeaseStore implements LeaseStore {
  private readonly db: BetterSqlite3.Database;
  private readonly upsert: BetterSqlite3.Statement<[string, string, number]>;
  private readonly del: BetterSqlite3.Statement<[string]>;
  private pending: Array<{ op: Op; done: () => void; fail: (e: Error) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  /** Batches committed and their sizes: shown in logs and the benchmark notes. */
  readonly stats = { batches: 0, writes: 0 };

  constructor(file: string, opts: GroupCommitOptions = {}) {
    let Driver: typeof BetterSqlite3;
    try {
      Driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    } catch (e) {
      throw new PxmError('DHCP leases need the better-sqlite3 module', { cause: e });
    }
    this.db = new Driver(file, { timeout: 2000 });
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS leases (
      mac TEXT PRIMARY KEY,
      ip TEXT NOT NULL UNIQUE,
      expires_at INTEGER NOT NULL
    )`);
    // REPLACE drops any row in the way: the MAC's old lease, and the old owner of an
    // address that moved to a new MAC after its lease expired or was released (ip is UNIQUE).
    this.upsert = this.db.prepare(
      'INSERT OR REPLACE INTO leases (mac, ip, expires_at) VALUES (?, ?, ?)',
    );
    this.del = this.db.prepare('DELETE FROM leases WHERE mac = ?');
    this.windowMs = opts.windowMs ?? 2;
    this.maxBatch = opts.maxBatch ?? 512;
  }

  loadAll(): LeaseRow[] {
    return this.db
      .prepare<[], { mac: string; ip: string; expires_at: number }>('SELECT * FROM leases')
      .all()
      .map((r) => ({ mac: r.mac, ip: r.ip, expiresAt: r.expires_at }));
  }

  put(lease: LeaseRow): Promise<void> {
    return this.enqueue({ kind: 'put', lease: { ...lease } });
  }

  remove(mac: string): Promise<void> {
    return this.enqueue({ kind: 'remove', mac });
  }

  private enqueue(op: Op): Promise<void> {
    return new Promise((done, fail) => {
      this.pending.push({ op, done, fail });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Commits everything pending in one transaction, then settles each write's promise. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const { op } of batch) {
          if (op.kind === 'put') {
            this.upsert.run(op.lease.mac, op.lease.ip, op.lease.expiresAt);
          } else this.del.run(op.mac);
        }
      })();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const w of batch) w.fail(err);
      return;
    }
    this.stats.batches++;
    this.stats.writes += batch.length;
    for (const w of batch) w.done();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
