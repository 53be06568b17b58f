// The SQLite store and the controller on a real database file (better-sqlite3).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/server/store/sqlite.js';
import { Controller, ConflictError } from '../../src/server/controller.js';
import { ValidationError } from '../../src/util/errors.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-store-'));
  file = path.join(dir, 'pxm.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteStore and Controller', () => {
  it('keeps nodes, MACs, credentials and events across a reopen, with the schema version recorded', () => {
    let store = new SqliteStore(file);
    const c = new Controller(store);
    const n = c.createNode({ hostname: 'web1', macs: ['52:54:00:00:00:0A'], sshKeys: [] }, 'test');
    c.act(n.id, 'commission', { comment: 'first' });
    store.close();
    store = new SqliteStore(file);
    const again = store.getNode(n.id);
    expect(again?.status).toBe('COMMISSIONING');
    expect(again?.macs).toEqual(['52:54:00:00:00:0a']);
    expect(store.getNodeByMac('52:54:00:00:00:0a')?.id).toBe(n.id);
    expect(store.getNodeByTokenKey(n.credentials.tokenKey)?.credentials.tokenSecret).toBe(
      n.credentials.tokenSecret,
    );
    expect(store.listEvents(n.id, {}).map((e) => e.summary)).toEqual([
      'node created (test)',
      'NEW -> COMMISSIONING (commission: first)',
    ]);
    store.close();
  });

  it('generates distinct credentials of at least 128 random bits per node', () => {
    const store = new SqliteStore(file);
    const c = new Controller(store);
    const a = c.createNode({}, 't').credentials;
    const b = c.createNode({}, 't').credentials;
    for (const v of [a.consumerKey, a.tokenKey, a.tokenSecret])
      expect(Buffer.from(v, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    expect(
      new Set([a.consumerKey, a.tokenKey, a.tokenSecret, b.consumerKey, b.tokenKey, b.tokenSecret])
        .size,
    ).toBe(6);
    store.close();
  });

  it('refuses a MAC that belongs to another node and a bad MAC, naming the field', () => {
    const store = new SqliteStore(file);
    const c = new Controller(store);
    const a = c.createNode({ macs: ['52:54:00:00:00:01'] }, 't');
    expect(() => c.createNode({ macs: ['52-54-00-00-00-01'] }, 't')).toThrow(ConflictError);
    expect(() => c.createNode({ macs: ['52-54-00-00-00-01'] }, 't')).toThrow(
      `MAC 52:54:00:00:00:01 already belongs to node ${a.id}`,
    );
    expect(() => c.createNode({ macs: ['nonsense'] }, 't')).toThrow(ValidationError);
    expect(() => c.createNode({ macs: ['nonsense'] }, 't')).toThrow('node.macs[0]');
    store.close();
  });

  it('filters and pages on the server', () => {
    const store = new SqliteStore(file);
    const c = new Controller(store);
    for (let i = 0; i < 12; i++) {
      const n = c.createNode({ hostname: `web${String(i).padStart(2, '0')}` }, 't');
      if (i % 3 === 0) c.act(n.id, 'commission');
    }
    c.createNode({ hostname: 'db1' }, 't');
    expect(store.listNodes({ status: ['COMMISSIONING'] }).total).toBe(4);
    const page = store.listNodes({ hostname: 'web*', limit: 5, offset: 10 });
    expect(page.total).toBe(12);
    expect(page.items.map((n) => n.hostname)).toEqual(['web10', 'web11']);
    store.close();
  });

  it('the timeout sweep moves stuck nodes to their failed status and leaves fresh ones', () => {
    const store = new SqliteStore(file);
    let now = 1_000_000;
    const c = new Controller(store, {
      now: () => now,
      timeouts: { COMMISSIONING: 60, DEPLOYING: 600 },
    });
    const stuck = c.createNode({ hostname: 'stuck' }, 't');
    c.act(stuck.id, 'commission');
    now += 30_000;
    const fresh = c.createNode({ hostname: 'fresh' }, 't');
    c.act(fresh.id, 'commission');
    now += 31_000; // stuck: 61 s, fresh: 31 s
    expect(c.sweepTimeouts().map((n) => n.id)).toEqual([stuck.id]);
    expect(store.getNode(stuck.id)).toMatchObject({
      status: 'FAILED_COMMISSIONING',
      statusReason: 'no progress for 60 s in COMMISSIONING',
    });
    expect(store.getNode(fresh.id)?.status).toBe('COMMISSIONING');
    store.close();
  });

  it('applies a status change once when two requests race (compare-and-set)', () => {
    const store = new SqliteStore(file);
    const c = new Controller(store);
    const n = c.createNode({}, 't');
    c.act(n.id, 'commission');
    expect(c.systemEvent(n.id, 'commissioning-ok', null)?.status).toBe('READY');
    expect(c.systemEvent(n.id, 'commissioning-ok', null)).toBeUndefined();
    expect(
      store.compareAndSetStatus(n.id, 'COMMISSIONING', 'READY', null, Date.now()),
    ).toBeUndefined();
    store.close();
  });
});

describe('one server per data dir', () => {
  it('a second store on the same database file is refused while the first is open', () => {
    const first = new SqliteStore(file);
    try {
      expect(() => new SqliteStore(file)).toThrow(/in use by another process/);
    } finally {
      first.close();
    }
    // Once the first is closed the file opens again, data intact.
    const again = new SqliteStore(file);
    again.close();
  });
});

describe('deploy validation', () => {
  it('refuses a config that is not a YAML mapping before changing anything', () => {
    const store = new SqliteStore(file);
    const c = new Controller(store);
    const n = c.createNode({}, 't');
    c.act(n.id, 'commission');
    c.systemEvent(n.id, 'commissioning-ok', null);
    expect(() =>
      c.act(n.id, 'deploy', { deploy: { configs: ['storage: {}\n', '- a list\n'] } }),
    ).toThrow('deploy.configs[1]: must be a YAML mapping (a curtin config)');
    expect(() => c.act(n.id, 'deploy', { deploy: { configs: ['a: [\n'] } })).toThrow(
      /deploy.configs\[0\]: not valid YAML/,
    );
    expect(store.getNode(n.id)).toMatchObject({
      status: 'READY',
      deploy: { configs: [], netboot: false },
    });
    const d = c.act(n.id, 'deploy', { deploy: { configs: ['sources: {r: cp:///srv/root}\n'] } });
    expect(d).toMatchObject({
      status: 'DEPLOYING',
      deploy: { netboot: true, configs: ['sources: {r: cp:///srv/root}\n'] },
    });
    store.close();
  });
});
