// Durable leases with the fsync off the event loop. better-sqlite3 is synchronous: a
// commit with synchronous=FULL blocks its thread for the fsync (~10 ms here), and on the
// main thread that stalls every DISCOVER/OFFER too. This store runs the commits in a
// worker thread and pipelines them: while one batch is being committed, new writes queue
// up in the main thread and go as the next batch once the worker is free. A write's
// promise settles only when its batch is on disk, so the engine still sends an ACK only
// after its lease is durable.
//
// A batch also waits until its first write is `gatherMs` old (1 ms by default) before it
// goes. Each commit costs the worker about 150 µs of CPU before its rows (WAL frames,
// the page writes, the fsync call) and each posted batch wakes the worker, and on one
// CPU both are taken from the thread that answers packets: without any wait a fast disk
// made batches of ~8 writes at 9000 leases/s. A longer wait (5 ms was the default) saves
// more of that CPU but holds every REQUEST that long: its objects outlive two scavenges
// and are promoted, the old generation fills faster and is marked and compacted more
// often (6 times in a 5 s run at 20,000 DORA/s, against 3 with 1 ms), and the replies
// queued during those pauses leave in bursts. At 24,000 DORA/s 1 ms lost 0.2-0.6 % in
// three runs where 5 ms lost 1.3-1.4 % (docs/benchmarks/dhcp.md, run K).
//
// Same file and schema as SqliteLeaseStore (lease-db.ts): WAL, synchronous=FULL.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { SqliteLeaseStore, type LeaseRow, type LeaseStore } from './lease-db.js';

type Op = { kind: 'put'; lease: LeaseRow } | { kind: 'remove'; mac: string };

// Plain CommonJS so it runs from the one-file bundle and from sources alike (eval worker).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Driver = require(workerData.driver);
const db = new Driver(workerData.file, { timeout: 2000 });
db.pragma('locking_mode = EXCLUSIVE');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
// REPLACE drops any row in the way: the MAC's old lease, and the old owner of an address
// that moved to a new MAC after its lease expired or was released (ip is UNIQUE).
const put = db.prepare('INSERT OR REPLACE INTO leases (mac, ip, expires_at) VALUES (?, ?, ?)');
const del = db.prepare('DELETE FROM leases WHERE mac = ?');
// A batch arrives as one string, a line per write ("P mac ip expiresAt" or "R mac"):
// cloning one string across threads costs far less than an array of objects.
const commit = db.transaction((ops) => {
  for (const line of ops.split('\\n')) {
    const f = line.split(' ');
    if (f[0] === 'P') put.run(f[1], f[2], Number(f[3]));
    else del.run(f[1]);
  }
});
parentPort.on('message', (m) => {
  if (m.close) { db.close(); parentPort.postMessage({ closed: true }); return; }
  try { commit(m.ops); parentPort.postMessage({ ok: true }); }
  catch (e) { parentPort.postMessage({ ok: false, error: String(e && e.message || e) }); }
});
parentPort.postMessage({ ready: true });
`;

interface Waiter {
  op: Op;
  /** performance.now() when the write was queued. */
  at: number;
  done: () => void;
  fail: (e: Error) => void;
}

export interface WorkerLeaseStoreOptions {
  /**
   * Spread a committed batch's settlements over the time its writes arrived (default);
   * false settles the whole batch at once.
   */
  paced?: boolean;
  /** How long the oldest write of a batch waits for others before the batch goes (ms, default 1). */
  gatherMs?: number;
  /** A batch goes without waiting once this many writes are pending. */
  maxBatch?: number;
}

export class WorkerLeaseStore implements LeaseStore {
  private readonly worker: Worker;
  private readonly initial: LeaseRow[];
  private pending: Waiter[] = [];
  private inFlight: Waiter[] | undefined;
  private sentAt = 0;
  private ready = false;
  private closing = false;
  private closed = false;
  private gatherTimer: NodeJS.Timeout | undefined;
  private readonly paced: boolean;
  private readonly gatherMs: number;
  private readonly maxBatch: number;
  /** Group commits so far: how many, their writes, the largest and the slowest (ms). */
  readonly stats = { batches: 0, writes: 0, largest: 0, slowestMs: 0 };

  constructor(file: string, o: WorkerLeaseStoreOptions = {}) {
    this.paced = o.paced ?? true;
    this.gatherMs = o.gatherMs ?? 1;
    this.maxBatch = o.maxBatch ?? 512;
    // Create the schema and read the leases here, before the worker takes the exclusive lock.
    const boot = new SqliteLeaseStore(file);
    this.initial = boot.loadAll();
    boot.close();
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    this.worker.unref();
    this.worker.on('message', (m: { ready?: boolean; ok?: boolean; error?: string }) => {
      if (m.ready) {
        this.ready = true;
        this.next();
        return;
      }
      const batch = this.inFlight ?? [];
      this.inFlight = undefined;
      if (m.ok) {
        this.stats.batches++;
        this.stats.writes += batch.length;
        this.stats.largest = Math.max(this.stats.largest, batch.length);
        this.stats.slowestMs = Math.max(this.stats.slowestMs, performance.now() - this.sentAt);
        if (this.paced) this.release(batch);
        else for (const w of batch) w.done();
      } else {
        const err = new Error(`lease commit failed: ${m.error}`);
        for (const w of batch) w.fail(err);
      }
      this.next();
    });
    this.worker.on('error', (e) => {
      // The worker died: nothing more can be made durable, so no more ACKs.
      for (const w of [...(this.inFlight ?? []), ...this.pending]) w.fail(e);
      this.inFlight = undefined;
      this.pending = [];
      this.closed = true;
    });
  }

  loadAll(): LeaseRow[] {
    return this.initial;
  }

  /**
   * Settles a committed batch's writes spread out as their requests came in: write i at
   * commit end + (queued_i - queued_first). Without this every ACK of a batch leaves in
   * one burst (hundreds after a slow commit), which overflows the receive buffer of a
   * client or relay that reads at the rate it sends. The data is already on disk: this
   * only delays when the engine learns so, by at most the time the batch took to gather
   * (about one commit). Timer ticks are ~1 ms; each sends everything that is due.
   */
  private release(batch: Waiter[]): void {
    const start = performance.now();
    const base = batch[0]!.at;
    let i = 0;
    const step = (): void => {
      const elapsed = performance.now() - start;
      while (i < batch.length && batch[i]!.at - base <= elapsed) batch[i++]!.done();
      if (i < batch.length) setTimeout(step, 1);
    };
    step();
  }

  put(lease: LeaseRow): Promise<void> {
    // MACs and addresses go on a space-separated line to the worker.
    if (/\s/.test(lease.mac + lease.ip) || !Number.isFinite(lease.expiresAt))
      return Promise.reject(new Error(`bad lease ${lease.mac} ${lease.ip} ${lease.expiresAt}`));
    return this.enqueue({ kind: 'put', lease: { ...lease } });
  }

  remove(mac: string): Promise<void> {
    if (/\s/.test(mac)) return Promise.reject(new Error(`bad MAC ${mac}`));
    return this.enqueue({ kind: 'remove', mac });
  }

  private enqueue(op: Op): Promise<void> {
    if (this.closed) return Promise.reject(new Error('lease store is closed'));
    return new Promise((done, fail) => {
      this.pending.push({ op, at: performance.now(), done, fail });
      this.next();
    });
  }

  private next(): void {
    if (!this.ready || this.inFlight || this.pending.length === 0) return;
    const wait = this.pending[0]!.at + this.gatherMs - performance.now();
    if (wait > 0 && this.pending.length < this.maxBatch && !this.closing) {
      this.gatherTimer ??= setTimeout(() => {
        this.gatherTimer = undefined;
        this.next();
      }, wait);
      return;
    }
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    this.inFlight = this.pending;
    this.pending = [];
    this.sentAt = performance.now();
    let ops = '';
    for (const { op } of this.inFlight) {
      if (ops) ops += '\n';
      ops +=
        op.kind === 'put'
          ? `P ${op.lease.mac} ${op.lease.ip} ${op.lease.expiresAt}`
          : `R ${op.mac}`;
    }
    this.worker.postMessage({ ops });
  }

  /** Waits for queued writes, then closes the database. */
  async closeAsync(): Promise<void> {
    this.closing = true;
    this.next();
    while (this.inFlight || (this.pending.length && !this.closed))
      await new Promise((r) => setTimeout(r, 2));
    if (!this.closed) {
      this.closed = true;
      const bye = new Promise<void>((r) => this.worker.once('message', () => r()));
      this.worker.postMessage({ close: true });
      await bye;
    }
    await this.worker.terminate();
  }

  close(): void {
    void this.closeAsync();
  }
}
