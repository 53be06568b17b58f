// The main process's side of the HTTP workers: forks them (node:cluster), waits until
// each listens, replaces one that dies, and stops them on shutdown. One Node process
// cannot serve metadata reads at much more than half the rate nginx serves a static
// file (docs/benchmarks/server.md); N processes on N cores can.
//
// Scheduling is the kernel's (SCHED_NONE): the listening socket is shared, and each
// worker accepts its own connections. (node:cluster's default round-robin would accept
// every connection in the main process and pass it on.)
import cluster, { type Worker } from 'node:cluster';
import { PxmError } from '../../util/errors.js';
import { WORKER_ENV, type WorkerConfig, type WorkerMessage } from './worker.js';

export interface WorkerPoolOptions extends WorkerConfig {
  count: number;
  /** The script a worker runs: pxm's own entry (the bundle), which sees WORKER_ENV. */
  script: string;
  log: (line: string) => void;
  /** How long a worker may take to listen. */
  startTimeoutMs?: number;
}

/** More restarts than this in RESTART_WINDOW_MS and the pool stops replacing workers. */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 60_000;

export class HttpWorkerPool {
  private readonly workers = new Set<Worker>();
  private stopping = false;
  private restarts: number[] = [];

  private constructor(private readonly opts: WorkerPoolOptions) {}

  /** Starts `count` workers; resolves with the port they listen on once all do. */
  static async start(opts: WorkerPoolOptions): Promise<{ pool: HttpWorkerPool; port: number }> {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: opts.script, args: [], silent: false });
    const pool = new HttpWorkerPool(opts);
    // node:cluster shares one socket among workers that ask for the same address and
    // port, so every worker asks for the configured one (0 included: one ephemeral port).
    let ports: number[];
    try {
      ports = await Promise.all(Array.from({ length: opts.count }, () => pool.fork()));
    } catch (e) {
      await pool.stop();
      throw e;
    }
    return { pool, port: ports[0] ?? 0 };
  }

  get pids(): number[] {
    return [...this.workers].map((w) => w.process.pid ?? 0);
  }

  private fork(): Promise<number> {
    const { dbFile, socketPath, listen, port } = this.opts;
    const cfg: WorkerConfig = { dbFile, socketPath, listen, port };
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify(cfg) });
    this.workers.add(w);
    return new Promise<number>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => {
        w.process.kill('SIGKILL');
        reject(new PxmError(`an HTTP worker did not start within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      w.on('message', (m: WorkerMessage) => {
        if (started) return;
        clearTimeout(timer);
        if (m.type === 'ready') {
          started = true;
          resolve(m.port);
        } else {
          reject(
            new PxmError(`cannot listen on ${this.opts.listen}:${port}: ${m.error}`, {
              hint: 'the HTTP worker processes could not start',
            }),
          );
        }
      });
      w.on('exit', (code, signal) => {
        this.workers.delete(w);
        clearTimeout(timer);
        if (!started) {
          reject(new PxmError(`an HTTP worker exited while starting (${signal ?? code})`));
          return;
        }
        if (!this.stopping) this.replace(w, code, signal);
      });
    });
  }

  private get timeoutMs(): number {
    return this.opts.startTimeoutMs ?? 30_000;
  }

  private replace(w: Worker, code: number | null, signal: string | null): void {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      this.opts.log(
        `HTTP worker ${w.process.pid} exited (${signal ?? code}); too many restarts, not replacing it`,
      );
      return;
    }
    this.restarts.push(now);
    this.opts.log(`HTTP worker ${w.process.pid} exited (${signal ?? code}); starting another`);
    this.fork().catch((e: unknown) =>
      this.opts.log(`cannot replace the HTTP worker: ${(e as Error).message}`),
    );
  }

  /** SIGTERM to every worker (they finish open requests), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), graceMs);
            w.process.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  }
}
