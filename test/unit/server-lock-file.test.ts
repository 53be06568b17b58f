// The data dir's writer lock (src/server/store/lock-file.ts) and the read-only replica
// beside it (src/server/store/sqlite-reader.ts), on real files and real processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireLock } from '../../src/server/store/lock-file.js';
import { SqliteStore } from '../../src/server/store/sqlite.js';
import { SqliteReader } from '../../src/server/store/sqlite-reader.js';
import { Controller } from '../../src/server/controller.js';

let dir: string;
let lock: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-lock-'));
  lock = path.join(dir, 'pxm.sqlite.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

describe('writer lock file', () => {
  it('holds the pid (0600), refuses a second taker while held, and is removed on release', () => {
    const l = acquireLock(lock, 'the database X');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${startTimeOf(process.pid)}\n`);
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    expect(() => acquireLock(lock, 'the database X')).toThrow(
      `the database X is in use by another process (pid ${process.pid})`,
    );
    l.release();
    expect(existsSync(lock)).toBe(false);
  });

  it('is refused while another live process holds it', async () => {
    const child = spawn('sleep', ['30']);
    try {
      await new Promise((r) => child.once('spawn', r));
      const pid = child.pid!;
      writeFileSync(lock, `${pid} ${startTimeOf(pid)}\n`);
      expect(() => acquireLock(lock, 'db')).toThrow(`db is in use by another process (pid ${pid})`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('breaks a lock whose process died, or whose pid now runs another program', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, `${dead} 1\n`);
    acquireLock(lock, 'db').release();
    // Our own pid, but another start time: the pid was reused after a reboot.
    writeFileSync(lock, `${process.pid} 1\n`);
    const l = acquireLock(lock, 'db');
    expect(readFileSync(lock, 'utf8')).toContain(`${process.pid} ${startTimeOf(process.pid)}`);
    l.release();
  });

  it('an empty lock file is being written (refused) unless it is old (broken)', () => {
    writeFileSync(lock, '');
    expect(() => acquireLock(lock, 'db')).toThrow('db is in use by another process');
    const old = Date.now() / 1000 - 60;
    utimesSync(lock, old, old);
    acquireLock(lock, 'db').release();
  });

  it('release leaves a lock that a later owner wrote', () => {
    const l = acquireLock(lock, 'db');
    writeFileSync(lock, '999999 1\n');
    l.release();
    expect(readFileSync(lock, 'utf8')).toBe('999999 1\n');
  });
});

describe('read-only replica beside the writer', () => {
  it('sees every committed write at once, version included, and cannot write', async () => {
    // A version read stands for one synchronous run (one request): yield between.
    const nextRequest = () => new Promise((r) => setImmediate(r));
    const file = path.join(dir, 'pxm.sqlite');
    const store = new SqliteStore(file);
    const reader = new SqliteReader(file);
    try {
      const c = new Controller(store);
      const n = c.createNode({ hostname: 'r1', macs: ['52:54:00:00:00:01'] }, 'test');
      expect(reader.getNode(n.id)).toMatchObject({ hostname: 'r1', macs: ['52:54:00:00:00:01'] });
      expect(reader.getNodeByTokenKey(n.credentials.tokenKey)?.id).toBe(n.id);
      const v = reader.getNodeVersion(n.id);
      c.act(n.id, 'commission');
      expect(reader.getNodeVersion(n.id)).toBe(v);
      await nextRequest();
      expect(reader.getNodeVersion(n.id)).toBeGreaterThan(v!);
      expect(reader.getNode(n.id)?.status).toBe('COMMISSIONING');
      c.deleteNode(n.id);
      await nextRequest();
      expect(reader.getNodeVersion(n.id)).toBeUndefined();
      expect(() =>
        (reader as unknown as { db: { exec(s: string): void } }).db.exec(
          "INSERT INTO settings (key, value) VALUES ('a', 'b')",
        ),
      ).toThrow(/readonly/);
    } finally {
      reader.close();
      store.close();
    }
  });
});
