// Acknowledged writes survive SIGKILL: the server is killed in the middle of a stream
// of writes, restarted on the same data dir, and every write it answered is there.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { authorizationHeader } from '../../src/oauth/plaintext.js';
import { spawnServer, type SpawnedServer } from '../fixtures/server/harness.js';

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterAll(() => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function api(url: string, key: string, method: string, p: string, body?: unknown) {
  const res = await request(`${url}/api/v1${p}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

describe('server durability', () => {
  it('loses nothing it acknowledged when killed with SIGKILL mid-write', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pxm-durable-'));
    dirs.push(dataDir);
    const first = await spawnServer(dataDir);
    servers.push(first);
    const key = (await import('node:fs'))
      .readFileSync(path.join(dataDir, 'api-key'), 'utf8')
      .trim();
    expect(statSync(path.join(dataDir, 'api-key')).mode & 0o777).toBe(0o600);

    // One node receives webhook events; other writers create and commission nodes.
    const target = (await api(first.url, key, 'POST', '/nodes', { hostname: 'sink' })).body as {
      id: string;
    };
    const creds = (await api(first.url, key, 'GET', `/nodes/${target.id}/credentials`)).body as {
      consumerKey: string;
      tokenKey: string;
      tokenSecret: string;
    };
    const ackedNodes: { id: string; status: string }[] = [];
    const ackedEvents: string[] = [];
    let stop = false;
    let killedAt = -1;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          if (i % 2 === 0) {
            const r = await api(first.url, key, 'POST', '/nodes', { hostname: `w${w}-n${i}` });
            if (r.status !== 201) continue;
            const id = (r.body as { id: string }).id;
            ackedNodes.push({ id, status: 'NEW' });
            const a = await api(first.url, key, 'POST', `/nodes/${id}/actions/commission`);
            if (a.status === 200)
              ackedNodes[ackedNodes.findIndex((n) => n.id === id)] = {
                id,
                status: 'COMMISSIONING',
              };
          } else {
            const desc = `event w${w} i${i}`;
            const res = await request(`${first.url}/MAAS/metadata/status/${target.id}`, {
              method: 'POST',
              headers: { authorization: authorizationHeader(creds) },
              body: JSON.stringify({
                event_type: 'start',
                origin: 'test',
                name: 'stage',
                description: desc,
              }),
            });
            await res.body.dump();
            if (res.statusCode === 204) ackedEvents.push(desc);
          }
        } catch {
          return; // the server died under us: this write was not acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // Kill once a good number of writes has been acknowledged (no timing involved).
    while (ackedNodes.length + ackedEvents.length < 400)
      await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    killedAt = ackedNodes.length + ackedEvents.length;
    await first.exited;
    stop = true;
    await Promise.all(writers);
    expect(killedAt).toBeGreaterThanOrEqual(400);

    const second = await spawnServer(dataDir);
    servers.push(second);
    try {
      for (const n of ackedNodes) {
        const r = await api(second.url, key, 'GET', `/nodes/${n.id}`);
        expect(r.status, `node ${n.id}`).toBe(200);
        // COMMISSIONING was acknowledged: it must be there. NEW may have moved on
        // (the commission may have committed just before the kill).
        if (n.status === 'COMMISSIONING') expect(r.body.status).toBe('COMMISSIONING');
      }
      const ev = await api(second.url, key, 'GET', `/nodes/${target.id}/events?limit=10000`);
      const have = new Set(
        (ev.body.items as { summary: string }[]).map((e) =>
          e.summary.replace(/^start stage: /, ''),
        ),
      );
      for (const d of ackedEvents) expect(have.has(d), d).toBe(true);

      // A clean SIGTERM exits 0; the next start still has everything.
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      const third = await spawnServer(dataDir);
      servers.push(third);
      const list = await api(third.url, key, 'GET', '/nodes?limit=1');
      expect(Number(list.body.total)).toBeGreaterThanOrEqual(ackedNodes.length + 1);
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
    } finally {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    }
  });
});
