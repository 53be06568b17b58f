// The metadata server against real clients: Debian 12's cloud-init reads it through
// DataSourceMAAS, the EC2 and NoCloud readers, and its webhook reporter; the
// commissioning script it serves runs for real and signals back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { authorizationHeader } from '../../src/oauth/plaintext.js';
import { capable } from '../helpers/capability.js';
import {
  haveCloudInit,
  python,
  PY,
  requestFrom,
  startTestServer,
  type Creds,
  type TestServer,
} from '../fixtures/server/harness.js';

const run = promisify(execFile);
const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0pxmTestKeyOnlyForTests000000000000000 tester@pxm';

const READ_MAAS = `
import json, os
from cloudinit.sources import DataSourceMAAS as M
from cloudinit import url_helper
h = url_helper.OauthUrlHelper(consumer_key=os.environ['CK'], token_key=os.environ['TK'],
    token_secret=os.environ['TS'], consumer_secret='', skew_data_file=None)
try:
    ud, md, vd = M.read_maas_seed_url(os.environ['URL'], read_file_or_url=h.readurl, retries=0)
    print(json.dumps({'ok': True, 'ud': ud.decode() if isinstance(ud, bytes) else ud, 'md': md, 'vd': vd}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': str(e)}))
`;

interface MaasRead {
  ok: boolean;
  error?: string;
  ud?: string;
  md?: Record<string, string>;
  vd?: Record<string, string>;
}

function credsEnv(c: Creds, url: string): Record<string, string> {
  return { CK: c.consumerKey, TK: c.tokenKey, TS: c.tokenSecret, URL: url };
}

describe.skipIf(!capable(haveCloudInit(), 'cloud-init metadata tests'))(
  'metadata with real cloud-init',
  () => {
    let t: TestServer;
    let a: { id: string; creds: Creds };
    let b: { id: string; creds: Creds };
    let md: string;

    async function addNode(body: Record<string, unknown>) {
      const r = await t.api<{ id: string }>('POST', '/nodes', body);
      expect(r.status).toBe(201);
      const c = await t.api<Creds>('GET', `/nodes/${r.body.id}/credentials`);
      return { id: r.body.id, creds: c.body };
    }

    beforeAll(async () => {
      t = await startTestServer();
      md = `${t.url}/MAAS/metadata/`;
      a = await addNode({
        hostname: 'alpha',
        macs: ['52:54:00:aa:00:01'],
        ip: '127.0.0.1',
        sshKeys: [KEY],
      });
      b = await addNode({ hostname: 'bravo', macs: ['52:54:00:bb:00:01'], ip: '127.0.0.2' });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('DataSourceMAAS reads instance-id, hostname, keys, vendor-data and user-data', async () => {
      // A deployed node serves the operator's user-data to the installed OS.
      t.server.controller.store.updateNode(a.id, {
        status: 'DEPLOYED',
        deploy: {
          configs: [],
          source: null,
          netboot: false,
          userData: '#cloud-config\nruncmd: [[touch, /pxm-was-here]]\n',
        },
      });
      const r = await python<MaasRead>(READ_MAAS, credsEnv(a.creds, md));
      expect(r.error).toBeUndefined();
      expect(r.md?.['instance-id']).toBe(a.id);
      expect(r.md?.['local-hostname']).toBe('alpha');
      expect(r.md?.['public-keys']).toContain(KEY);
      expect(r.vd?.['cloud-init']).toContain('fqdn: alpha.maas');
      expect(r.ud).toContain('/pxm-was-here');
    });

    it('a wrong secret gets 401 with a Date header, and cloud-init fails the read', async () => {
      const r = await python<MaasRead>(
        READ_MAAS,
        credsEnv({ ...a.creds, tokenSecret: 'wrong' + a.creds.tokenSecret.slice(5) }, md),
      );
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/401/);
      const res = await request(`${md}2012-03-01/meta-data/instance-id`, {
        headers: { authorization: authorizationHeader({ ...a.creds, tokenSecret: 'nope' }) },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers.date).toBeTruthy();
      expect(await res.body.text()).toMatch(/invalid OAuth credentials/);
      // A timestamp outside the 300 s window is refused with the skew named.
      const old = await request(`${md}2012-03-01/meta-data/instance-id`, {
        headers: { authorization: authorizationHeader(a.creds, Date.now() - 3600_000) },
      });
      expect(old.statusCode).toBe(401);
      expect(await old.body.text()).toMatch(/-360\d s off/);
    });

    it("node A's credentials read A's data, never B's", async () => {
      const ra = await python<MaasRead>(READ_MAAS, credsEnv(a.creds, md));
      const rb = await python<MaasRead>(READ_MAAS, credsEnv(b.creds, md));
      expect(ra.md?.['instance-id']).toBe(a.id);
      expect(rb.md?.['instance-id']).toBe(b.id);
      expect(rb.md?.['public-keys']).toBeUndefined();
      // Posting events for B with A's credentials: 404, as if B did not exist.
      const res = await request(`${md}status/${b.id}`, {
        method: 'POST',
        headers: { authorization: authorizationHeader(a.creds) },
        body: JSON.stringify({ event_type: 'start', origin: 'x', name: 'n', description: 'd' }),
      });
      expect(res.statusCode).toBe(404);
      await res.body.dump();
      // B's preseed (which carries B's secrets) is not served to A's address.
      const pre = await request(`${md}latest/by-id/${b.id}/?op=get_preseed`);
      expect(pre.statusCode).toBe(404);
      expect(await pre.body.text()).not.toContain(b.creds.tokenSecret);
    });

    it('the preseed gives a node at its own address its datasource and reporting config', async () => {
      const res = await request(`${md}latest/by-id/${a.id}/?op=get_preseed`);
      expect(res.statusCode).toBe(200);
      const text = await res.body.text();
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      expect(text).toContain(`token_secret: ${a.creds.tokenSecret}`);
      expect(text).toContain(`${md}status/${a.id}`);
    });

    it("cloud-init's webhook reporting lands as node events", async () => {
      const out = await python<{ ok: boolean }>(
        `
import json, os
from cloudinit import reporting
from cloudinit.reporting import events
reporting.update_configuration({'maas': {'type': 'webhook', 'endpoint': os.environ['URL'] + 'status/' + os.environ['ID'],
    'consumer_key': os.environ['CK'], 'token_key': os.environ['TK'], 'token_secret': os.environ['TS']}})
with events.ReportEventStack('init-network', 'searching for network datasources', reporting_enabled=True):
    with events.ReportEventStack('init-network/check-cache', 'attempting to read from cache', parent=None, reporting_enabled=True):
        pass
reporting.flush_events()
print(json.dumps({'ok': True}))
`,
        { ...credsEnv(b.creds, md), ID: b.id },
      );
      expect(out.ok).toBe(true);
      const ev = await t.api<{
        items: { type: string; summary: string; data: { name: string; origin: string } }[];
      }>('GET', `/nodes/${b.id}/events`);
      const hooks = ev.body.items.filter((e) => e.type === 'webhook');
      expect(hooks.map((e) => e.summary)).toEqual(
        expect.arrayContaining([
          'start init-network: searching for network datasources',
          'finish init-network SUCCESS: searching for network datasources',
          'start init-network/check-cache: attempting to read from cache',
        ]),
      );
      expect(hooks[0]?.data.origin).toBe('cloudinit');
    });

    it("the EC2 reader gets a node's metadata only from the node's own address", async () => {
      t.server.controller.store.updateNode(b.id, { ip: '127.0.0.1' });
      t.server.controller.store.updateNode(a.id, { ip: '127.0.0.3' });
      try {
        const r = await python<{ md: Record<string, unknown>; ud: string | null }>(
          `
import json, os
from cloudinit.sources.helpers import ec2
md = ec2.get_instance_metadata(api_version='latest', metadata_address=os.environ['BASE'], retries=0)
ud = ec2.get_instance_userdata(api_version='latest', metadata_address=os.environ['BASE'], retries=0)
print(json.dumps({'md': md, 'ud': ud.decode() if isinstance(ud, bytes) else ud}))
`,
          { BASE: t.url },
        );
        expect(r.md['instance-id']).toBe(b.id);
        expect(r.md['local-hostname']).toBe('bravo');
        expect(r.md['local-ipv4']).toBe('127.0.0.1');
        // From an address no node has: nothing, not even the instance-id.
        const res = await requestFrom('127.0.0.9', `${t.url}/latest/meta-data/instance-id`);
        expect(res.status).toBe(404);
        expect(res.body).not.toContain(b.id);
        // IMDSv2: a token issued to this address works, a made-up one is refused.
        const tok = await request(`${t.url}/latest/api/token`, {
          method: 'PUT',
          headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
        });
        expect(tok.statusCode).toBe(200);
        const token = await tok.body.text();
        const good = await request(`${t.url}/latest/meta-data/instance-id`, {
          headers: { 'x-aws-ec2-metadata-token': token },
        });
        expect(await good.body.text()).toBe(b.id);
        // Change one character for sure (a base64url token starts with 'x' 1 time in 64).
        const forged = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
        const bad = await request(`${t.url}/latest/meta-data/instance-id`, {
          headers: { 'x-aws-ec2-metadata-token': forged },
        });
        expect(bad.statusCode).toBe(401);
        await bad.body.dump();
        // The token is bound to the address it was issued to: node A (127.0.0.3) cannot use it.
        const stolen = await requestFrom('127.0.0.3', `${t.url}/latest/meta-data/instance-id`, {
          headers: { 'x-aws-ec2-metadata-token': token },
        });
        expect(stolen.status).toBe(401);
        const own = await requestFrom('127.0.0.3', `${t.url}/latest/meta-data/instance-id`);
        expect(own.body).toBe(a.id);
      } finally {
        t.server.controller.store.updateNode(a.id, { ip: '127.0.0.1' });
        t.server.controller.store.updateNode(b.id, { ip: '127.0.0.2' });
      }
    });

    it("the NoCloud reader reads its flavour; another node's id is 404", async () => {
      const r = await python<{ md: Record<string, unknown>; ud: string; vd: string }>(
        `
import json, os
from cloudinit import util
md, ud, vd = util.read_seeded(os.environ['BASE'] + '/', timeout=5, retries=0)
dec = lambda b: b.decode() if isinstance(b, bytes) else b
print(json.dumps({'md': md, 'ud': dec(ud), 'vd': dec(vd)}))
`,
        { BASE: `${t.url}/nocloud/${a.id}` },
      );
      expect(r.md['instance-id']).toBe(a.id);
      expect(r.md['local-hostname']).toBe('alpha');
      expect(r.md['public-keys']).toEqual([KEY]);
      expect(r.ud).toContain('/pxm-was-here');
      expect(r.vd).toContain('fqdn: alpha.maas');
      const nc = await request(`${t.url}/nocloud/${a.id}/network-config`);
      expect(await nc.body.text()).toContain('macaddress: 52:54:00:aa:00:01');
      const other = await request(`${t.url}/nocloud/${b.id}/meta-data`);
      expect(other.statusCode).toBe(404);
      expect(await other.body.text()).not.toContain('bravo');
    });

    it('the served commissioning script collects inventory and its multipart signal moves COMMISSIONING to READY', async () => {
      const n = await addNode({ hostname: 'charlie', macs: ['52:54:00:cc:00:01'] });
      expect((await t.api('POST', `/nodes/${n.id}/actions/commission`)).status).toBe(200);
      const r = await python<MaasRead>(READ_MAAS, credsEnv(n.creds, md));
      expect(r.ud?.startsWith('#!/usr/bin/python3')).toBe(true);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-commission-'));
      try {
        const script = path.join(dir, 'user-data');
        writeFileSync(script, r.ud ?? '', { mode: 0o700 });
        await run(PY, [script], { timeout: 60_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const node = await t.api<{
        status: string;
        inventory: { cpu: { count: number }; memory: { total_bytes: number } };
      }>('GET', `/nodes/${n.id}`);
      expect(node.body.status).toBe('READY');
      expect(node.body.inventory.cpu.count).toBe(os.cpus().length);
      expect(node.body.inventory.memory.total_bytes).toBeGreaterThan(os.totalmem() * 0.9);
      const ev = await t.api<{
        items: { type: string; summary: string; data: { files?: { name: string }[] } }[];
      }>('GET', `/nodes/${n.id}/events`);
      const sig = ev.body.items.find((e) => e.type === 'signal');
      expect(sig?.summary).toBe('signal OK');
      expect(sig?.data.files?.[0]?.name).toBe('pxm-inventory.json');
      // A repeated completion signal changes nothing.
      const again = await request(`${md}2012-03-01/`, {
        method: 'POST',
        headers: {
          authorization: authorizationHeader(n.creds),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'op=signal&status=FAILED&error=late',
      });
      expect(again.statusCode).toBe(200);
      await again.body.dump();
      expect((await t.api<{ status: string }>('GET', `/nodes/${n.id}`)).body.status).toBe('READY');
    });

    it('a FAILED signal while commissioning records the cause', async () => {
      const n = await addNode({ hostname: 'delta' });
      await t.api('POST', `/nodes/${n.id}/actions/commission`);
      const boundary = 'pxmtestboundary';
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="op"\r\n\r\nsignal\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="status"\r\n\r\nFAILED\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="error"\r\n\r\nlshw exited 1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="00-lshw.err"; filename="00-lshw.err"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\nboom\r\n--${boundary}--\r\n`;
      const res = await request(`${md}2012-03-01/`, {
        method: 'POST',
        headers: {
          authorization: authorizationHeader(n.creds),
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      const node = await t.api<{ status: string; statusReason: string }>('GET', `/nodes/${n.id}`);
      expect(node.body).toMatchObject({
        status: 'FAILED_COMMISSIONING',
        statusReason: 'lshw exited 1',
      });
    });

    it('anonymous metadata gives enlistment answers; enlistment does not duplicate a known MAC and is rate limited', async () => {
      const id = await request(`${md}latest/meta-data/instance-id`);
      expect(await id.body.text()).toBe('i-maas-enlistment');
      const ud = await request(`${md}latest/user-data`);
      expect(await ud.body.text()).toContain('/MAAS/api/2.0/machines/');
      const enlist = async (mac: string, from: string) => {
        const res = await requestFrom(from, `${t.url}/MAAS/api/2.0/machines/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `architecture=amd64%2Fgeneric&mac_addresses=${encodeURIComponent(mac)}&mac_addresses=52:54:00:ee:ff:01`,
        });
        return {
          status: res.status,
          body: JSON.parse(res.body) as { system_id: string; hostname: string },
        };
      };
      const first = await enlist('52:54:00:ee:00:01', '127.0.0.20');
      expect(first.status).toBe(200);
      const second = await enlist('52-54-00-EE-00-01', '127.0.0.21');
      expect(second.body.system_id).toBe(first.body.system_id);
      const reg = await request(
        `${t.url}/MAAS/api/2.0/machines/?op=is_registered&mac_address=52:54:00:ee:00:01`,
      );
      expect(await reg.body.json()).toBe(true);
      const list = await t.api<{ total: number }>('GET', '/nodes?mac=52:54:00:ee:00:01');
      expect(list.body.total).toBe(1);
      // One address may enlist a burst of 5, then it is told to wait.
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await requestFrom('127.0.0.30', `${t.url}/MAAS/api/2.0/machines/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `mac_addresses=52:54:00:ef:00:${String(i).padStart(2, '0')}`,
        });
        statuses.push(res.status);
      }
      expect(statuses).toContain(429);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      // The enlisting address became the node's address (for EC2/NoCloud and preseeds).
      const enlisted = await t.api<{ ip: string }>('GET', `/nodes/${first.body.system_id}`);
      expect(enlisted.body.ip).toBe('127.0.0.20');
    });

    it('the SSE stream delivers backlog and live status events', async () => {
      const n = await addNode({ hostname: 'echo' });
      const ac = new AbortController();
      const res = await request(`${t.url}/api/v1/nodes/${n.id}/events/stream`, {
        headers: { authorization: `Bearer ${t.apiKey}` },
        signal: ac.signal,
      });
      expect(res.headers['content-type']).toBe('text/event-stream');
      let text = '';
      const seen = new Promise<void>((resolve) => {
        res.body.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('NEW -> COMMISSIONING')) resolve();
        });
      });
      await t.api('POST', `/nodes/${n.id}/actions/commission`);
      await seen;
      ac.abort();
      expect(text).toMatch(/id: \d+\nevent: node-event\ndata: .*node created/);
    });

    it('bodies over the limit are refused with 413', async () => {
      const res = await request(`${t.url}/api/v1/nodes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: Buffer.alloc(5 * 1024 * 1024, 0x20),
      });
      expect(res.statusCode).toBe(413);
      await res.body.dump();
    });
  },
);
