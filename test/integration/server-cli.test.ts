// `pxm server`, `pxm apikey`, `pxm login` and `pxm nodes` from the built bundle, as an
// operator and a CI script use them: output modes and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { bundlePath, pxm } from '../helpers/pxm.js';
import { spawnServer, type SpawnedServer } from '../fixtures/server/harness.js';
import { ExitCode } from '../../src/util/errors.js';

describe('pxm nodes against pxm server', () => {
  let dir: string;
  let srv: SpawnedServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-cli-'));
    srv = await spawnServer(path.join(dir, 'data'));
    env = { XDG_CONFIG_HOME: path.join(dir, 'config'), PXM_URL: '', PXM_API_KEY: '' };
  });
  afterAll(async () => {
    if (srv && srv.child.exitCode === null) {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with the key from pxm apikey and saves it 0600', async () => {
    const key = await pxm(['apikey', '--data-dir', path.join(dir, 'data')]);
    expect(key.exitCode).toBe(0);
    const bad = await pxm(['login', srv.url, 'not-the-key'], { env });
    expect(bad.exitCode).toBe(ExitCode.UNAUTHORIZED);
    const ok = await pxm(['login', srv.url, String(key.stdout).trim()], { env });
    expect(ok.exitCode).toBe(0);
    expect(statSync(path.join(dir, 'config/pxm/client.json')).mode & 0o777).toBe(0o600);
  });

  it('the key never begins with "-"; an older key that does logs in after --', async () => {
    // Unprefixed keys began with '-' one time in 64, and `pxm login URL KEY` read them as an
    // option (a CI run failed so).
    const key = String((await pxm(['apikey', '--data-dir', path.join(dir, 'data')])).stdout);
    expect(key.trim()).toMatch(/^pxm_[A-Za-z0-9_-]{43}$/);
    const olderData = path.join(dir, 'older');
    mkdirSync(olderData, { mode: 0o700 });
    const older = '-Lolder_key_from_before_the_pxm_prefix_0123456';
    writeFileSync(path.join(olderData, 'api-key'), `${older}\n`, { mode: 0o600 });
    const olderSrv = await spawnServer(olderData);
    try {
      const olderEnv = { ...env, XDG_CONFIG_HOME: path.join(dir, 'older-config') };
      const login = await pxm(['login', olderSrv.url, '--', older], { env: olderEnv });
      expect(login.exitCode, String(login.stderr)).toBe(0);
      expect(String(login.stderr)).toContain(`logged in to ${olderSrv.url}`);
    } finally {
      olderSrv.child.kill('SIGTERM');
      await olderSrv.exited;
    }
  });

  it('adds, lists, filters, shows, edits and deletes nodes with typed flags', async () => {
    const keyFile = path.join(dir, 'keys.pub');
    writeFileSync(
      keyFile,
      '# ops\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpxmCliTestKey000000000000000000000000 ops@pxm\n',
    );
    const add = await pxm(
      [
        'nodes',
        'add',
        '--hostname',
        'web1',
        '--mac',
        '52:54:00:10:00:01',
        '--ip',
        '10.9.0.5',
        '--ssh-key-file',
        keyFile,
        '--json',
      ],
      { env },
    );
    expect(add.exitCode).toBe(0);
    const web1 = JSON.parse(String(add.stdout)) as {
      id: string;
      sshKeys: string[];
      status: string;
    };
    expect(web1.status).toBe('NEW');
    expect(web1.sshKeys).toHaveLength(1);
    await pxm(['nodes', 'add', '--hostname', 'db1', '--mac', '52-54-00-10-00-02'], { env });
    expect((await pxm(['nodes', 'commission', 'web1'], { env })).exitCode).toBe(0);

    const table = await pxm(['nodes', 'list'], { env });
    expect(String(table.stdout)).toMatch(/^ID\s+HOSTNAME\s+STATUS/);
    expect(String(table.stdout)).toMatch(/web1\s+COMMISSIONING/);
    const filtered = JSON.parse(
      String((await pxm(['nodes', 'list', '--status', 'new', '--json'], { env })).stdout),
    ) as {
      items: { hostname: string }[];
      total: number;
    };
    expect(filtered.items.map((n) => n.hostname)).toEqual(['db1']);

    const edit = await pxm(
      [
        'nodes',
        'edit',
        'db1',
        '--hostname',
        'db01',
        '--power-type',
        'ipmi',
        '--power-param',
        'address=10.9.9.9',
        '--json',
      ],
      { env },
    );
    expect(JSON.parse(String(edit.stdout))).toMatchObject({
      hostname: 'db01',
      powerType: 'ipmi',
      powerParameters: { address: '10.9.9.9' },
    });

    const creds = JSON.parse(
      String((await pxm(['nodes', 'credentials', 'web1', '--json'], { env })).stdout),
    ) as { tokenSecret: string };
    expect(creds.tokenSecret.length).toBeGreaterThanOrEqual(24);

    expect((await pxm(['nodes', 'delete', 'db01'], { env })).exitCode).toBe(0);
    expect((await pxm(['nodes', 'show', 'db01'], { env })).exitCode).toBe(ExitCode.NOT_FOUND);
  });

  it('exit codes: bad input 2, not allowed 1, wait timeout 5, no server configured 6', async () => {
    const bad = await pxm(['nodes', 'add', '--mac', 'zz:zz'], { env });
    expect(bad.exitCode).toBe(ExitCode.INVALID);
    expect(String(bad.stderr)).toContain('node.macs[0]: not a MAC address');
    const notAllowed = await pxm(['nodes', 'deploy', 'web1'], { env });
    expect(notAllowed.exitCode).toBe(ExitCode.ERROR);
    expect(String(notAllowed.stderr)).toContain('cannot deploy a node that is COMMISSIONING');
    const wait = await pxm(['nodes', 'wait', 'web1', '--status', 'READY', '--timeout', '1'], {
      env,
    });
    expect(wait.exitCode).toBe(ExitCode.TIMEOUT);
    const badStatus = await pxm(['nodes', 'wait', 'web1', '--status', 'DONE', '--timeout', '1'], {
      env,
    });
    expect(badStatus.exitCode).toBe(ExitCode.INVALID);
    const nowhere = await pxm(['nodes', 'list'], {
      env: { XDG_CONFIG_HOME: path.join(dir, 'empty'), PXM_URL: '', PXM_API_KEY: '' },
    });
    expect(nowhere.exitCode).toBe(ExitCode.UNAUTHORIZED);
  });

  it('events --follow streams, and wait returns when the node gets there', async () => {
    // execa directly: the follower is killed, so the subprocess handle is needed.
    const follow = execa(process.execPath, [bundlePath, 'nodes', 'events', 'web1', '--follow'], {
      env,
      reject: false,
    });
    let out = '';
    follow.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const waiter = pxm(['nodes', 'wait', 'web1', '--status', 'NEW', '--timeout', '60', '--json'], {
      env,
    });
    // The follower is connected once it has printed the backlog.
    for (let i = 0; i < 100 && !out.includes('node created (api)'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await pxm(['nodes', 'abort', 'web1', '--comment', 'cli test'], { env })).exitCode).toBe(
      0,
    );
    const w = await waiter;
    expect(w.exitCode).toBe(0);
    expect(JSON.parse(String(w.stdout))).toMatchObject({ hostname: 'web1', status: 'NEW' });
    for (let i = 0; i < 100 && !out.includes('COMMISSIONING -> NEW'); i++)
      await new Promise((r) => setTimeout(r, 100));
    follow.kill('SIGTERM');
    await follow;
    expect(out).toContain('node created (api)');
    expect(out).toContain('COMMISSIONING -> NEW (abort: cli test)');
  });

  it('pxm server refuses a second server on the same data dir, and exits 0 on SIGTERM', async () => {
    await expect(spawnServer(path.join(dir, 'data'))).rejects.toThrow(/in use by another process/);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });
});
