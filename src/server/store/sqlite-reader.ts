// A read-only connection to the server's database, for the HTTP worker processes
// (src/server/workers/). SQLite in WAL mode lets readers in other processes see every
// committed transaction while the one writer (SqliteStore, in the main process) goes
// on: each statement reads the latest commit, so a worker never answers from a node
// older than a write the main process has already acknowledged.
import type BetterSqlite3 from 'better-sqlite3';
import { PxmError } from '../../util/errors.js';
import { loadDriver, nodeFromRow, type NodeRow } from './sqlite.js';
import type { NodeReads, NodeRecord } from './types.js';

export class SqliteReader implements NodeReads {
  private readonly db: BetterSqlite3.Database;
  private readonly stmts;

  constructor(file: string) {
    const Driver = loadDriver();
    try {
      // fileMustExist: the main process created and migrated it before starting workers.
      this.db = new Driver(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    } catch (e) {
      throw new PxmError(`cannot open the database ${file} read-only: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const db = this.db;
    this.stmts = {
      getNode: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE id = ?'),
      getByToken: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE token_key = ?'),
      // pluck: the number itself, no row object (this runs on every request).
      version: db.prepare<[string], number>('SELECT version FROM nodes WHERE id = ?').pluck(),
      macsOf: db.prepare<[string], { mac: string }>(
        'SELECT mac FROM macs WHERE node_id = ? ORDER BY position',
      ),
    };
  }

  private toNode(row: NodeRow): NodeRecord {
    return nodeFromRow(
      row,
      this.stmts.macsOf.all(row.id).map((m) => m.mac),
    );
  }

  // The row and its MACs in one read transaction: one commit's view, never a mix.
  getNode(id: string): NodeRecord | undefined {
    return this.db.transaction(() => {
      const row = this.stmts.getNode.get(id);
      return row && this.toNode(row);
    })();
  }

  getNodeByTokenKey(tokenKey: string): NodeRecord | undefined {
    return this.db.transaction(() => {
      const row = this.stmts.getByToken.get(tokenKey);
      return row && this.toNode(row);
    })();
  }

  /**
   * One indexed read: another process writes, so no version is remembered across
   * requests. Within one synchronous run (a request's token check, then its answer)
   * the first read stands: a request sees one version of its node, at one moment.
   */
  getNodeVersion(id: string): number | undefined {
    if (this.memo?.id === id) return this.memo.version;
    const version = this.stmts.version.get(id);
    if (!this.memo) queueMicrotask(() => (this.memo = undefined));
    this.memo = { id, version };
    return version;
  }

  private memo: { id: string; version: number | undefined } | undefined;

  close(): void {
    this.db.close();
  }
}
