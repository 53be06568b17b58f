// An HTTP worker process: `pxm server --http-workers N` forks N of these (node:cluster;
// pool.ts). Each accepts connections on the shared listening socket, answers metadata
// reads from a read-only database connection (read-backend.ts), and passes every other
// request to the main process over its internal Unix socket. It owns no state: when
// the main process goes away (even SIGKILL), the IPC channel closes and the worker ends.
import { HttpServer } from '../http/core.js';
import { forwardTo } from '../http/forward.js';
import { maasMetadataHandler, metadataFastReads } from '../http/maas-metadata.js';
import { NodeSnapshots } from '../node-snapshots.js';
import { SqliteReader } from '../store/sqlite-reader.js';
import { ReadOnlyMetadata, readsOrForward } from './read-backend.js';

/** Passed from the main process in the environment (pool.ts). */
export interface WorkerConfig {
  dbFile: string;
  socketPath: string;
  listen: string;
  port: number;
}

export const WORKER_ENV = 'PXM_HTTP_WORKER';

export type WorkerMessage = { type: 'ready'; port: number } | { type: 'failed'; error: string };

function tell(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(msg, undefined, {}, () => resolve());
  });
}

export async function runHttpWorker(): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`pxm server: http worker ${process.pid}: ${line}\n`);
  };
  // The main process died or let us go: nothing to finish here.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group: the main process stops us in order.
  process.on('SIGINT', () => {});
  let cfg: WorkerConfig;
  try {
    cfg = JSON.parse(process.env[WORKER_ENV] ?? '') as WorkerConfig;
  } catch {
    await tell({ type: 'failed', error: `bad ${WORKER_ENV} in the environment` });
    process.exit(1);
  }
  let reader: SqliteReader | undefined;
  try {
    reader = new SqliteReader(cfg.dbFile);
    const http = new HttpServer(log);
    const forward = forwardTo(cfg.socketPath);
    const metadata = new ReadOnlyMetadata(new NodeSnapshots(reader));
    http.mount('/MAAS/metadata', readsOrForward(maasMetadataHandler(metadata), forward.handler));
    http.fast(metadataFastReads(metadata));
    http.mount('/', forward.handler);
    const addr = await http.listen(cfg.port, cfg.listen);
    const db = reader;
    process.once('SIGTERM', () => {
      void http.close().then(() => {
        forward.close();
        db.close();
        process.exit(0);
      });
    });
    await tell({ type: 'ready', port: addr.port });
  } catch (e) {
    reader?.close();
    await tell({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
}
