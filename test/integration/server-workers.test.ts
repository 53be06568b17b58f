// `pxm server --http-workers N` from the built bundle: N worker processes share the
// HTTP port, answer OAuth-verified metadata reads themselves, and pass everything else
// to the main process with the client's real address. Shown the way an operator would
// see it: reads keep working while the main process is stopped (SIGSTOP), writes wait
// for it; the side effect of the first read by the installed OS happens once; workers
// die with the main process; one server per data dir; bad values exit 2; SIGTERM ends
// the server even while a client has stalled mid-download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { authorizationHeader } from '../../src/oauth/plaintext.js';
import { ExitCode } from '../../src/util/errors.js';
import { pxm } from '../helpers/pxm.js';
import {
  requestFrom,
  spawnServer,
  type Creds,
  type SpawnedServer,
} from '../fixtures/server/harness.js';

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterAll(() => {
  for (const s of servers) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill('SIGCONT');
    s.child.kill('SIGKILL');
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pxm-workers-'));
  dirs.push(d);
  return d;
}

/** State letter from /proc/<pid>/stat; undefined when the process is gone. */
function procState(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Running (not zombie) processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => {
      const s = procState(p);
      return s !== undefined && s.ppid === pid && s.state !== 'Z';
    });
}

function alive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s.state !== 'Z';
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function client(url: string, key: string) {
  return async <T = Record<string, unknown>>(method: string, p: string, body?: unknown) => {
    const res = await request(`${url}/api/v1${p}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

async function get(url: string, auth?: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { headers: auth ? { authorization: auth } : {} });
  return { status: res.statusCode, body: await res.body.text() };
}

function post(url: string, auth: string, body: string) {
  return request(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

describe('pxm server --http-workers 2', () => {
  let srv: SpawnedServer;
  let dataDir: string;
  let api: ReturnType<typeof client>;
  let md: string;
  let node: { id: string; creds: Creds };
  const USER_DATA = '#cloud-config\nwrite_files: [{path: /etc/pxm-workers, content: hi}]\n';

  beforeAll(async () => {
    dataDir = path.join(tempDir(), 'data');
    srv = await spawnServer(dataDir, ['--http-workers', '2']);
    servers.push(srv);
    api = client(srv.url, readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim());
    md = `${srv.url}/MAAS/metadata`;
    const n = await api<{ id: string }>('POST', '/nodes', { hostname: 'wk1' });
    expect(n.status).toBe(201);
    const c = await api<Creds>('GET', `/nodes/${n.body.id}/credentials`);
    node = { id: n.body.id, creds: c.body };
  });

  it('runs two worker processes beside the main one, and the internal socket is 0600', () => {
    const pids = childrenOf(srv.child.pid!);
    expect(pids).toHaveLength(2);
    expect(srv.stderr()).toContain(`2 HTTP worker processes (pids ${pids.sort().join(', ')})`);
    const sock = statSync(path.join(dataDir, 'http-internal.sock'));
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);
  });

  it('the first user-data read by the installed OS marks the node DEPLOYED exactly once', async () => {
    const auth = () => authorizationHeader(node.creds);
    expect((await api('POST', `/nodes/${node.id}/actions/commission`)).status).toBe(200);
    const ok = await post(`${md}/2012-03-01/`, auth(), 'op=signal&status=OK');
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const dep = await api('POST', `/nodes/${node.id}/actions/deploy`, {
      deploy: { userData: USER_DATA },
    });
    expect(dep.status).toBe(200);
    const off = await post(`${md}/2012-03-01/`, auth(), 'op=netboot_off');
    expect(off.statusCode).toBe(200);
    await off.body.dump();
    // Many concurrent first reads, over both workers and both metadata versions.
    const reads = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        get(`${md}/${i % 2 ? 'latest' : '2012-03-01'}/user-data`, auth()),
      ),
    );
    for (const r of reads) expect(r).toEqual({ status: 200, body: USER_DATA });
    const shown = await api<{ status: string }>('GET', `/nodes/${node.id}`);
    expect(shown.body.status).toBe('DEPLOYED');
    const ev = await api<{ items: { type: string; data: { to?: string } }[] }>(
      'GET',
      `/nodes/${node.id}/events`,
    );
    const deployed = ev.body.items.filter((e) => e.type === 'status' && e.data.to === 'DEPLOYED');
    expect(deployed).toHaveLength(1);
  });

  it('workers answer metadata reads with OAuth checks while the main process is stopped; writes wait for it', async () => {
    const main = srv.child;
    main.kill('SIGSTOP');
    try {
      const auth = authorizationHeader(node.creds);
      for (const ver of ['2012-03-01', 'latest']) {
        expect(await get(`${md}/${ver}/user-data`, auth)).toEqual({ status: 200, body: USER_DATA });
        expect(await get(`${md}/${ver}/meta-data/instance-id`, auth)).toEqual({
          status: 200,
          body: node.id,
        });
        expect(await get(`${md}/${ver}/meta-data/local-hostname`, auth)).toEqual({
          status: 200,
          body: 'wk1',
        });
        expect((await get(`${md}/${ver}/meta-data/`, auth)).body).toContain('vendor-data');
        expect((await get(`${md}/${ver}/meta-data/vendor-data`, auth)).body).toContain(
          'fqdn: wk1.maas',
        );
      }
      // Anonymous reads are the enlistment answers.
      expect((await get(`${md}/latest/meta-data/instance-id`)).body).toBe('i-maas-enlistment');
      // Every bad credential is refused by the worker itself.
      const bad = [
        authorizationHeader({
          ...node.creds,
          tokenSecret: 'wrong' + node.creds.tokenSecret.slice(5),
        }),
        authorizationHeader({ ...node.creds, tokenKey: 'nosuchtoken000000000000' }),
        authorizationHeader({ ...node.creds, consumerKey: 'x' + node.creds.consumerKey.slice(1) }),
        authorizationHeader(node.creds, Date.now() - 3600_000),
        'Basic dXNlcjpwYXNz',
      ];
      for (const h of bad) {
        const r = await request(`${md}/latest/user-data`, { headers: { authorization: h } });
        expect(r.statusCode, h.slice(0, 40)).toBe(401);
        expect(r.headers.date).toBeTruthy();
        const text = await r.body.text();
        expect(text).not.toContain(USER_DATA);
      }
      // A write is the main process's: it does not complete while it is stopped.
      const signal = post(`${md}/latest/`, auth, 'op=signal&status=WORKING');
      const first = await Promise.race([
        signal.then(() => 'answered'),
        new Promise((r) => setTimeout(() => r('waiting'), 1500)),
      ]);
      expect(first).toBe('waiting');
      main.kill('SIGCONT');
      const res = await signal;
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    } finally {
      main.kill('SIGCONT');
    }
    const ev = await api<{ items: { type: string; summary: string }[] }>(
      'GET',
      `/nodes/${node.id}/events`,
    );
    expect(ev.body.items.some((e) => e.type === 'signal' && e.summary === 'signal WORKING')).toBe(
      true,
    );
  });

  it('forwarded writes carry the client address; a client cannot forge it', async () => {
    const enlist = (from: string, headers: Record<string, string> = {}) =>
      requestFrom(from, `${srv.url}/MAAS/api/2.0/machines/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: `architecture=amd64/generic&mac_addresses=52:54:00:77:00:${from.slice(-1).padStart(2, '0')}`,
      });
    const a = await enlist('127.0.0.3');
    expect(a.status).toBe(200);
    const b = await enlist('127.0.0.4', { 'x-pxm-remote': '10.99.0.1' });
    expect(b.status).toBe(200);
    const ipOf = async (body: string) => {
      const id = (JSON.parse(body) as { system_id: string }).system_id;
      return (await api<{ ip: string | null }>('GET', `/nodes/${id}`)).body.ip;
    };
    expect(await ipOf(a.body)).toBe('127.0.0.3');
    expect(await ipOf(b.body)).toBe('127.0.0.4');
    // The EC2 flavour (address identity, in the main process) sees the real address too.
    const md4 = await requestFrom('127.0.0.4', `${srv.url}/latest/meta-data/local-ipv4`);
    expect(md4).toEqual({ status: 200, body: '127.0.0.4' });
    const other = await requestFrom('127.0.0.5', `${srv.url}/latest/meta-data/local-ipv4`, {
      headers: { 'x-pxm-remote': '127.0.0.4' },
    });
    expect(other.status).toBe(404);
  });

  it('refuses a second server on the same data dir, naming the running one', async () => {
    const second = await pxm(
      ['server', '--data-dir', dataDir, '--listen', '127.0.0.1', '--http-port', '0'],
      { timeout: 60_000 },
    );
    expect(second.exitCode).toBe(ExitCode.ERROR);
    expect(String(second.stderr)).toMatch(
      new RegExp(`in use by another process \\(pid ${srv.child.pid}\\)`),
    );
    // The running server is unaffected.
    expect((await api('GET', `/nodes/${node.id}`)).status).toBe(200);
  });

  it('workers end when the main process is killed with SIGKILL; a new server starts', async () => {
    const workers = childrenOf(srv.child.pid!);
    expect(workers).toHaveLength(2);
    srv.child.kill('SIGKILL');
    await srv.exited;
    await until('the workers to exit', () => workers.every((p) => !alive(p)));
    // The lock of the dead server is stale: a new one takes over, with the node intact.
    const next = await spawnServer(dataDir, ['--http-workers', '2']);
    servers.push(next);
    const get2 = client(next.url, readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim());
    expect((await get2<{ status: string }>('GET', `/nodes/${node.id}`)).body.status).toBe(
      'DEPLOYED',
    );
    const w2 = childrenOf(next.child.pid!);
    expect(w2).toHaveLength(2);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    await until('the workers to stop', () => w2.every((p) => !alive(p)));
    expect(existsSync(path.join(dataDir, 'pxm.sqlite.lock'))).toBe(false);
  });
});

describe('pxm server shutdown', () => {
  // A machine that dies mid-download leaves its connection open with nothing read: the
  // server must still end on SIGTERM (systemctl stop, a redeploy), closing it.
  it.each([['1'], ['2']])(
    'ends on SIGTERM within seconds while a client has stalled mid-download (--http-workers %s)',
    async (workers) => {
      const dir = tempDir();
      mkdirSync(path.join(dir, 'boot'));
      writeFileSync(path.join(dir, 'boot', 'big.bin'), Buffer.alloc(64 << 20, 7));
      const srv = await spawnServer(path.join(dir, 'data'), [
        '--http-workers',
        workers,
        '--tftp-port',
        '0',
        '--tftp-root',
        path.join(dir, 'boot'),
      ]);
      servers.push(srv);
      const { hostname, port } = new URL(srv.url);
      const stalled = net.connect(Number(port), hostname);
      stalled.on('error', () => {});
      stalled.write(`GET /boot/big.bin HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
      // The answer started; from now on nothing is read, the socket buffers fill and the
      // server's write waits.
      stalled.once('data', () => stalled.pause());
      await until('the download to start', () => stalled.bytesRead > 0);
      const closed = new Promise((r) => stalled.once('close', r));
      srv.child.kill('SIGTERM');
      // 2 s of grace for answers in progress, then every connection is closed.
      const late = new Promise((r) =>
        setTimeout(() => r('still running after 15 s'), 15_000).unref(),
      );
      expect(await Promise.race([srv.exited, late]), srv.stderr()).toBe(0);
      stalled.resume();
      await closed;
    },
  );
});

describe('pxm server worker count', () => {
  it('auto (the default) runs one worker per CPU from 3 CPUs on, none on 1-2', async () => {
    const srv = await spawnServer(path.join(tempDir(), 'data'));
    servers.push(srv);
    const cpus = os.availableParallelism();
    expect(childrenOf(srv.child.pid!)).toHaveLength(cpus > 2 ? Math.min(cpus, 64) : 0);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('--http-workers 1 serves HTTP from the main process alone', async () => {
    const srv = await spawnServer(path.join(tempDir(), 'data'), ['--http-workers', '1']);
    servers.push(srv);
    expect(childrenOf(srv.child.pid!)).toHaveLength(0);
    expect((await get(`${srv.url}/MAAS/metadata/`)).status).toBe(200);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('a bad --http-workers or http_workers exits 2, naming it, before touching anything', async () => {
    const dir = tempDir();
    for (const v of ['0', '65', 'two', '1.5']) {
      const r = await pxm(['server', '--data-dir', path.join(dir, 'data'), '--http-workers', v]);
      expect(r.exitCode, v).toBe(ExitCode.INVALID);
      expect(String(r.stderr)).toContain('--http-workers: must be auto or a whole number 1..64');
    }
    const cfg = path.join(dir, 'server.yaml');
    writeFileSync(cfg, 'http_workers: many\n');
    const r = await pxm(['server', '--data-dir', path.join(dir, 'data'), '--config', cfg]);
    expect(r.exitCode).toBe(ExitCode.INVALID);
    expect(String(r.stderr)).toContain(`${cfg}: http_workers: must be auto or a whole number`);
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
  });
});
