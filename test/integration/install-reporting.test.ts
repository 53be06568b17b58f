// Reporting: a real HTTP server receives the install's events, signed with OAuth 1.0
// PLAINTEXT as MAAS expects, and the final event carries the install log in base64.
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { bundlePath, pxm } from '../helpers/pxm.js';
import { capable, haveCommand } from '../helpers/capability.js';
import { shellQuote } from '../../src/runner/runner.js';
import { parseAuthorizationHeader, plaintextSignature } from '../../src/oauth/plaintext.js';

interface Received {
  auth: Record<string, string> | undefined;
  body: {
    name: string;
    event_type: string;
    result?: string;
    origin: string;
    timestamp: number;
    files?: { path: string; content: string; encoding: string }[];
  };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function withServer(fn: (url: string, got: Received[]) => Promise<void>): Promise<void> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        auth: parseAuthorizationHeader(req.headers.authorization),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'],
      });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await fn(`http://127.0.0.1:${port}/MAAS/metadata/status/abc123`, got);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('webhook reporting', () => {
  it('POSTs every event in order with a valid OAuth PLAINTEXT header; the last carries the log', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-report-test-'));
    dirs.push(dir);
    await withServer(async (url, got) => {
      const cfg = path.join(dir, 'maas.yaml');
      writeFileSync(
        cfg,
        [
          'reporting:',
          '  maas:',
          '    type: webhook',
          `    endpoint: ${url}`,
          '    consumer_key: CK',
          '    token_key: TK',
          '    token_secret: "T&S secret"',
          'late_commands:',
          '  10_say: echo marker-in-the-log',
          'install:',
          `  log_file: ${dir}/install.log`,
          `  error_tarfile: ${dir}/errors.tar`,
        ].join('\n'),
      );
      const r = await pxm(['install', '--target', path.join(dir, 'target'), '-c', cfg]);
      expect(r.exitCode).toBe(0);
      expect(got.length).toBeGreaterThan(10);
      for (const g of got) {
        expect(g.auth?.oauth_signature_method).toBe('PLAINTEXT');
        expect(g.auth?.oauth_consumer_key).toBe('CK');
        expect(g.auth?.oauth_token).toBe('TK');
        expect(g.auth?.oauth_signature).toBe(plaintextSignature('', 'T&S secret'));
        expect(g.body.origin).toBe('curtin');
      }
      const names = got.map((g) => `${g.body.event_type} ${g.body.name}`);
      expect(names[0]).toBe('start cmd-install');
      expect(names).toContain('finish cmd-install/stage-late/10_say');
      const last = got.at(-1)?.body;
      expect(last?.name).toBe('cmd-install');
      expect(last?.event_type).toBe('finish');
      expect(last?.result).toBe('SUCCESS');
      const file = last?.files?.[0];
      expect(file?.path).toBe(`${dir}/install.log`);
      expect(file?.encoding).toBe('base64');
      const log = Buffer.from(file?.content ?? '', 'base64').toString('utf8');
      expect(log).toContain('marker-in-the-log');
      expect(log).toContain('finish: cmd-install/stage-late/10_say: SUCCESS');
      // Secrets never reach the log.
      expect(log).not.toContain('T&S secret');
    });
  });

  it('a failed install reports the FAIL chain to the webhook too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-report-test-'));
    dirs.push(dir);
    await withServer(async (url, got) => {
      const r = await pxm([
        'install',
        '--target',
        path.join(dir, 'target'),
        '--set',
        `json:reporting={"hook":{"type":"webhook","endpoint":"${url}"}}`,
        '--set',
        'late_commands/10_fail=false',
        '--set',
        `install/log_file=${dir}/install.log`,
        '--set',
        `install/error_tarfile=${dir}/errors.tar`,
      ]);
      expect(r.exitCode).toBe(3);
      const fails = got.filter((g) => g.body.result === 'FAIL').map((g) => g.body.name);
      expect(fails).toEqual([
        'cmd-install/stage-late/10_fail',
        'cmd-install/stage-late',
        'cmd-install',
      ]);
      expect(got.every((g) => g.auth === undefined)).toBe(true); // no keys: unsigned
      expect(got.at(-1)?.body.files?.[0]?.encoding).toBe('base64');
    });
  });

  it('an unreachable webhook never fails the install; the failure is in the log', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-report-test-'));
    dirs.push(dir);
    // A port nobody listens on: take one from a server and close it.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const r = await pxm([
      'install',
      '--target',
      path.join(dir, 'target'),
      '--set',
      `json:reporting={"hook":{"type":"webhook","endpoint":"http://127.0.0.1:${port}/status"}}`,
      '--set',
      'late_commands/10_ok=true',
      '--set',
      `install/log_file=${dir}/install.log`,
    ]);
    expect(r.exitCode).toBe(0);
    const log = readFileSync(path.join(dir, 'install.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(
        `reporting/hook: webhook http://127\\.0\\.0\\.1:${port}/status: .*\\(event cmd-install\\)`,
      ),
    );
  });

  it('on a terminal, an ora spinner names each stage and ends with the result', async () => {
    if (!capable(haveCommand('script'), 'terminal spinner test (util-linux script)')) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pxm-report-test-'));
    dirs.push(dir);
    const cmd = [
      'stty cols 120 rows 40;',
      shellQuote(process.execPath),
      shellQuote(bundlePath),
      'install --target',
      shellQuote(path.join(dir, 'target')),
      '--set late_commands/10_x=true --set',
      shellQuote(`install/log_file=${dir}/install.log`),
    ].join(' ');
    // `script` gives pxm a pseudo-terminal, as an operator's shell would.
    const r = await execa('script', ['-qec', cmd, '/dev/null'], {
      reject: false,
      timeout: 120_000,
    });
    expect(r.exitCode).toBe(0);
    const out = String(r.stdout);
    // ora colours its symbols: ✔ then a colour reset before the text.
    const plain = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g'), '');
    expect(plain).toContain('\u2714 cmd-install/stage-late: executing late commands');
    expect(plain).toContain('\u2714 cmd-install: Installation finished');
  });
});
