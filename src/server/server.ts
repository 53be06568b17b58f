// Assembles the controller process: store, controller, HTTP mounts, timeout sweep.
// Later listeners (TFTP, DHCP) and HTTP mounts (boot configs, images) attach through
// `RunningServer.http.mount()` and `RunningServer.controller`.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PxmError } from '../util/errors.js';
import { Controller } from './controller.js';
import { newApiKey } from './credentials.js';
import { adminHandler } from './http/admin.js';
import { HttpServer } from './http/core.js';
import { enlistHandler } from './http/enlist.js';
import { ec2Handler, noCloudHandler } from './http/local-flavours.js';
import { maasMetadataHandler, metadataFastReads } from './http/maas-metadata.js';
import type { LifecycleTimeouts } from './lifecycle.js';
import { MetadataPolicy, type InstallerBuilder } from './metadata-policy.js';
import { SqliteStore } from './store/sqlite.js';
import { packInstallerBuilder } from './installer.js';
import { HttpWorkerPool } from './workers/pool.js';

export interface ServerOptions {
  dataDir: string;
  listen: string;
  httpPort: number;
  timeouts?: Partial<LifecycleTimeouts>;
  domain?: string;
  /** How often the timeout sweep runs. */
  sweepIntervalMs?: number;
  /** Default: the pack API (src/pack) without an embedded Node runtime. */
  buildInstaller?: InstallerBuilder;
  /** Embed a Node runtime in per-node installers (for ephemeral images without node). */
  installerWithNode?: boolean;
  log?: (line: string) => void;
  /**
   * Processes accepting HTTP connections. 1: this process alone. N > 1: N worker
   * processes (src/server/workers/) share the listening socket and answer metadata
   * reads; this process answers everything else on INTERNAL_SOCKET.
   */
  httpWorkers?: number;
  /** The script workers run (pxm's entry; default: this process's own, argv[1]). */
  workerScript?: string;
}

export interface RunningServer {
  /** The HttpServer with every mount; with workers it listens on INTERNAL_SOCKET only. */
  http: HttpServer;
  controller: Controller;
  port: number;
  /** `address:port` the HTTP service listens on. */
  address: string;
  /** Worker process ids (empty when this process serves HTTP itself). */
  httpWorkerPids(): number[];
  apiKeyFile: string;
  close(): Promise<void>;
}

export const API_KEY_FILE = 'api-key';
export const DB_FILE = 'pxm.sqlite';
/** Where the main process answers requests the HTTP workers pass on (mode 0600). */
export const INTERNAL_SOCKET = 'http-internal.sock';

/** Reads the admin API key, creating it (0600) on first start. */
export function ensureApiKey(dataDir: string): string {
  const file = path.join(dataDir, API_KEY_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // 'wx': two servers starting at once cannot overwrite each other's key.
  writeFileSync(file, newApiKey() + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export function readApiKey(dataDir: string): string {
  const file = path.join(dataDir, API_KEY_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new PxmError(`cannot read the API key in ${file}: ${(e as Error).message}`, {
      hint: 'start `pxm server` once with this --data-dir, and read it as root',
    });
  }
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const apiKey = ensureApiKey(opts.dataDir);
  const store = new SqliteStore(path.join(opts.dataDir, DB_FILE));
  const controller = new Controller(store, { timeouts: opts.timeouts, defaultDomain: opts.domain });
  const policy = new MetadataPolicy(
    controller,
    opts.buildInstaller ?? packInstallerBuilder({ withNode: opts.installerWithNode }),
  );
  const http = new HttpServer(log);
  http.mount('/MAAS/metadata', maasMetadataHandler(policy));
  // Metadata reads skip node:http's request machinery (fast-lane.ts) on the public listener.
  http.fast(metadataFastReads(policy));
  http.mount('/MAAS/api/', enlistHandler(policy));
  http.mount(
    '/api/v1',
    adminHandler(controller, () => apiKey),
  );
  http.mount('/latest', ec2Handler(policy));
  http.mount('/nocloud/', noCloudHandler(policy));

  const workers = opts.httpWorkers ?? 1;
  let port: number;
  let address: string;
  let pool: HttpWorkerPool | undefined;
  const socketPath = path.join(opts.dataDir, INTERNAL_SOCKET);
  try {
    if (workers > 1) {
      await http.listenInternal(socketPath);
      const started = await HttpWorkerPool.start({
        count: workers,
        script: opts.workerScript ?? process.argv[1] ?? '',
        dbFile: path.join(opts.dataDir, DB_FILE),
        socketPath,
        listen: opts.listen,
        port: opts.httpPort,
        log,
      });
      pool = started.pool;
      port = started.port;
      address = `${opts.listen}:${port}`;
    } else {
      const addr = await http.listen(opts.httpPort, opts.listen);
      port = addr.port;
      address = `${addr.address}:${addr.port}`;
    }
  } catch (e) {
    await http.close();
    store.close();
    if (e instanceof PxmError) throw e;
    throw new PxmError(`cannot listen on ${opts.listen}:${opts.httpPort}: ${(e as Error).message}`);
  }
  const sweepMs =
    opts.sweepIntervalMs ??
    Math.min(30_000, (Math.min(...Object.values(controller.timeouts)) * 1000) / 4);
  const sweep = setInterval(
    () => {
      try {
        for (const n of controller.sweepTimeouts()) log(`node ${n.id} timed out: now ${n.status}`);
      } catch (e) {
        log(`timeout sweep failed: ${String(e)}`);
      }
    },
    Math.max(100, sweepMs),
  );
  sweep.unref();

  return {
    http,
    controller,
    port,
    address,
    httpWorkerPids: () => pool?.pids ?? [],
    apiKeyFile: path.join(opts.dataDir, API_KEY_FILE),
    async close() {
      clearInterval(sweep);
      // Workers first: they pass requests to this process until they stop.
      await pool?.stop();
      await http.close();
      store.close();
      if (pool) rmSync(socketPath, { force: true });
    },
  };
}
