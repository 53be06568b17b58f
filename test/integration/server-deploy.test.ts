// The deploy walk with real parts: NEW -> COMMISSIONING -> READY -> DEPLOYING, the
// installer that user-data returned runs (--target into a directory), reports through
// the node's webhook and turns netboot off; the installed OS's first user-data read
// (with the credentials the install wrote into it) marks the node DEPLOYED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { request } from 'undici';
import { authorizationHeader } from '../../src/oauth/plaintext.js';
import { all, capable, haveCommand, haveFile } from '../helpers/capability.js';
import { bundlePath } from '../helpers/pxm.js';
import {
  haveCloudInit,
  python,
  startTestServer,
  type Creds,
  type TestServer,
} from '../fixtures/server/harness.js';

const run = promisify(execFile);

// cloud-init's own reader saves the user-data exactly as a node would receive it.
const FETCH_USER_DATA = `
import json, os
from cloudinit.sources import DataSourceMAAS as M
from cloudinit import url_helper
h = url_helper.OauthUrlHelper(consumer_key=os.environ['CK'], token_key=os.environ['TK'],
    token_secret=os.environ['TS'], consumer_secret='', skew_data_file=None)
ud, md, vd = M.read_maas_seed_url(os.environ['URL'], read_file_or_url=h.readurl, retries=0)
open(os.environ['OUT'], 'wb').write(ud or b'')
print(json.dumps({'instance': md['instance-id'], 'bytes': len(ud or b'')}))
`;

describe.skipIf(
  !capable(all(haveCloudInit(), haveCommand('curl'), haveFile(bundlePath)), 'server deploy walk'),
)('deploy walk', () => {
  let t: TestServer;
  let work: string;
  beforeAll(async () => {
    t = await startTestServer();
    work = mkdtempSync(path.join(os.tmpdir(), 'pxm-deploy-'));
  });
  afterAll(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function readyNode(hostname: string): Promise<{ id: string; creds: Creds }> {
    const n = await t.api<{ id: string }>('POST', '/nodes', { hostname });
    const creds = (await t.api<Creds>('GET', `/nodes/${n.body.id}/credentials`)).body;
    expect(
      (await t.api<{ status: string }>('POST', `/nodes/${n.body.id}/actions/commission`)).body
        .status,
    ).toBe('COMMISSIONING');
    const sig = await request(`${t.url}/MAAS/metadata/2012-03-01/`, {
      method: 'POST',
      headers: {
        authorization: authorizationHeader(creds),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'op=signal&status=OK',
    });
    expect(sig.statusCode).toBe(200);
    await sig.body.dump();
    return { id: n.body.id, creds };
  }

  async function fetchUserData(c: Creds, out: string) {
    return python<{ instance: string; bytes: number }>(FETCH_USER_DATA, {
      CK: c.consumerKey,
      TK: c.tokenKey,
      TS: c.tokenSecret,
      URL: `${t.url}/MAAS/metadata/`,
      OUT: out,
    });
  }

  it('installs, reports, turns netboot off, and the installed OS marks it DEPLOYED', async () => {
    const node = await readyNode('deploy1');
    expect((await t.api<{ status: string }>('GET', `/nodes/${node.id}`)).body.status).toBe('READY');
    const rootfs = path.join(work, 'rootfs');
    mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
    writeFileSync(path.join(rootfs, 'etc', 'motd'), 'installed by pxm\n');
    const dep = await t.api<{ status: string; deploy: { netboot: boolean } }>(
      'POST',
      `/nodes/${node.id}/actions/deploy`,
      {
        deploy: {
          configs: [`sources:\n  rootfs: cp://${rootfs}\n`],
          userData: '#cloud-config\nruncmd: [[touch, /installed-os-user-data]]\n',
        },
      },
    );
    expect(dep.body).toMatchObject({ status: 'DEPLOYING', deploy: { netboot: true } });

    const installer = path.join(work, 'installer');
    await fetchUserData(node.creds, installer);
    expect(readFileSync(installer).subarray(0, 9).toString()).toBe('#!/bin/sh');
    const target = path.join(work, 'target');
    mkdirSync(target);
    const r = await run('sh', [installer, '--target', target], { timeout: 300_000 });
    expect(r.stderr + r.stdout).toContain('Installation finished');
    expect(readFileSync(path.join(target, 'etc/motd'), 'utf8')).toBe('installed by pxm\n');

    // The installer reported through the node's webhook and its last late command
    // turned netboot off; the node is still DEPLOYING until the installed OS speaks.
    const events = (
      await t.api<{ items: { type: string; summary: string }[] }>('GET', `/nodes/${node.id}/events`)
    ).body.items;
    const summaries = events.map((e) => e.summary);
    expect(summaries).toContain('start cmd-install: curtin command install');
    expect(summaries.some((s) => s.startsWith('finish cmd-install SUCCESS'))).toBe(true);
    expect(summaries).toContain('netboot off');
    const mid = (
      await t.api<{ status: string; deploy: { netboot: boolean } }>('GET', `/nodes/${node.id}`)
    ).body;
    expect(mid).toMatchObject({ status: 'DEPLOYING', deploy: { netboot: false } });

    // The installed OS carries the datasource config the install wrote (mode 0600).
    const dsFile = path.join(target, 'etc/cloud/cloud.cfg.d/90_pxm_datasource.cfg');
    const ds = parse(readFileSync(dsFile, 'utf8')) as {
      datasource: { MAAS: { consumer_key: string; token_key: string; token_secret: string } };
    };
    const m = ds.datasource.MAAS;
    const out = path.join(work, 'installed-user-data');
    const read = await fetchUserData(
      { consumerKey: m.consumer_key, tokenKey: m.token_key, tokenSecret: m.token_secret },
      out,
    );
    expect(read.instance).toBe(node.id);
    expect(readFileSync(out, 'utf8')).toContain('/installed-os-user-data');
    const done = (await t.api<{ status: string }>('GET', `/nodes/${node.id}`)).body;
    expect(done.status).toBe('DEPLOYED');
  });

  it('a failing install moves the node to FAILED_DEPLOYMENT with the cause', async () => {
    const node = await readyNode('deploy2');
    const rootfs = path.join(work, 'rootfs2');
    mkdirSync(rootfs, { recursive: true });
    writeFileSync(path.join(rootfs, 'x'), 'x');
    await t.api('POST', `/nodes/${node.id}/actions/deploy`, {
      deploy: {
        configs: [
          `sources:\n  rootfs: cp://${rootfs}\nlate_commands:\n  01_fails: [sh, -c, 'exit 7']\n`,
        ],
      },
    });
    const installer = path.join(work, 'installer2');
    await fetchUserData(node.creds, installer);
    const target = path.join(work, 'target2');
    mkdirSync(target);
    const r = await run('sh', [installer, '--target', target], { timeout: 300_000 }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    expect(r).not.toBe(0);
    const n = (
      await t.api<{ status: string; statusReason: string; deploy: { netboot: boolean } }>(
        'GET',
        `/nodes/${node.id}`,
      )
    ).body;
    expect(n.status).toBe('FAILED_DEPLOYMENT');
    expect(n.statusReason).toMatch(/^cmd-install: /);
    // netboot_off never ran: the node would netboot again, into the installer.
    expect(n.deploy.netboot).toBe(true);
  });

  it('without an installer builder the deploy user-data fails loudly (500), never a fake', async () => {
    const t2 = await startTestServer({
      buildInstaller: () => Promise.reject(new Error('pack unavailable in this build')),
    });
    try {
      const n = await t2.api<{ id: string }>('POST', '/nodes', { hostname: 'nopack' });
      const creds = (await t2.api<Creds>('GET', `/nodes/${n.body.id}/credentials`)).body;
      t2.server.controller.store.updateNode(n.body.id, {
        status: 'DEPLOYING',
        deploy: { configs: [], source: null, netboot: true, userData: null },
      });
      const res = await request(`${t2.url}/MAAS/metadata/latest/user-data`, {
        headers: { authorization: authorizationHeader(creds) },
      });
      expect(res.statusCode).toBe(500);
      expect(await res.body.text()).toContain(
        'cannot build the installer: pack unavailable in this build',
      );
    } finally {
      await t2.stop();
    }
  });
});
