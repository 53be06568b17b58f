// pxm install through the built bundle, into --target directories: ordering, the env
// contract, failure handling (exit 3, FAIL chain, error tarball), dry-run, config errors.
import { afterAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pxm, repoRoot } from '../helpers/pxm.js';

/** The bundle's result with plain string output. */
async function px(
  args: string[],
): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const r = await pxm(args);
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pxm-install-test-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Log and error tarball inside the test's dir, so parallel runs never share them. */
function logSets(dir: string): string[] {
  return [
    '--set',
    `install/log_file=${dir}/install.log`,
    '--set',
    `install/error_tarfile=${dir}/errors.tar`,
  ];
}
const fx = (name: string) => path.join(repoRoot, 'test/fixtures/config', name);

interface Ev {
  name: string;
  event_type: string;
  result?: string;
  description: string;
  files?: { path: string; content: string; encoding: string }[];
}
function events(stdout: string): Ev[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Ev);
}

describe('pxm install --target', () => {
  it('runs stages and commands in curtin order across merged files', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const order = path.join(dir, 'order');
    const extra = path.join(dir, 'extra.yaml');
    // The fixtures append to $WORKING_DIR/../order; this file puts everything in one file.
    writeFileSync(
      extra,
      [
        'late_commands:',
        `  maas: [sh, -c, 'echo late-maas >> ${order}']`,
        `  zz_anchor: 'echo late-zz >> ${order}'`,
        `  10_x: 'echo late-10 >> ${order}'`,
        `  9_x: 'echo late-9 >> ${order}'`,
        'early_commands:',
        `  10_first: [sh, -c, 'echo early-10 >> ${order}']`,
        `  9_second: 'echo early-9 >> ${order}'`,
        'stages: [late, early, partitioning]',
      ].join('\n'),
    );
    const r = await px([
      'install',
      '--target',
      target,
      '-c',
      fx('10-maas-base.yaml'),
      '-c',
      fx('20-site.yaml'),
      '-c',
      extra,
      ...logSets(dir),
    ]);
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.exitCode).toBe(0);
    // `stages:` reorders; keys sort as strings; 20_skipped_later was nulled by 20-site.yaml.
    expect(readFileSync(order, 'utf8').split('\n').filter(Boolean)).toEqual([
      'late-10',
      'late-9',
      'late-maas',
      'late-zz',
      'early-10',
      'early-9',
    ]);
    // write_files is part of extract, which `stages:` left out.
    expect(existsSync(path.join(target, 'etc/a'))).toBe(false);
  });

  it('gives every command the environment contract', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const dump = path.join(dir, 'env.json');
    const cfg = path.join(dir, 'env.yaml');
    // A late command dumps its environment (and facts it can only see while running).
    writeFileSync(
      cfg,
      [
        'proxy: {http_proxy: "http://proxy.test:3128", https_proxy: "http://sproxy.test:3128", no_proxy: "localhost"}',
        'late_commands:',
        `  10_env: ["${process.execPath}", "-e", "const fs=require('fs');fs.writeFileSync('${dump}', JSON.stringify({env: process.env, workingDirExists: fs.statSync(process.env.WORKING_DIR).isDirectory(), config: JSON.parse(fs.readFileSync(process.env.CONFIG,'utf8')), shim: require('child_process').execSync('command -v curtin; command -v pxm', {shell: '/bin/sh'}).toString()}))"]`,
      ].join('\n'),
    );
    const r = await px(['install', '--target', target, '-c', cfg, ...logSets(dir)]);
    expect(r.exitCode).toBe(0);
    const got = JSON.parse(readFileSync(dump, 'utf8')) as {
      env: Record<string, string>;
      workingDirExists: boolean;
      config: Record<string, unknown>;
      shim: string;
    };
    const e = got.env;
    const wd = e.WORKING_DIR ?? '';
    const state = path.join(path.dirname(wd), 'state');
    expect(got.workingDirExists).toBe(true);
    expect(e.TARGET_MOUNT_POINT).toBe(target);
    expect(e.OUTPUT_FSTAB).toBe(path.join(state, 'fstab'));
    expect(e.OUTPUT_INTERFACES).toBe(path.join(state, 'interfaces'));
    expect(e.OUTPUT_NETWORK_CONFIG).toBe(path.join(state, 'network_config'));
    expect(e.OUTPUT_NETWORK_STATE).toBe(path.join(state, 'network_state'));
    expect(e.CONFIG).toBe(path.join(state, 'config'));
    expect(e.CURTIN_REPORTSTACK).toBe('cmd-install/stage-late/10_env');
    expect(e.http_proxy).toBe('http://proxy.test:3128');
    expect(e.HTTP_PROXY).toBe('http://proxy.test:3128');
    expect(e.https_proxy).toBe('http://sproxy.test:3128');
    expect(e.no_proxy).toBe('localhost');
    expect(e.PATH?.split(':')[0]).toBe(path.join(wd, 'bin'));
    expect(got.shim.split('\n').filter(Boolean)).toEqual([
      path.join(wd, 'bin/curtin'),
      path.join(wd, 'bin/pxm'),
    ]);
    // CONFIG holds the merged config as JSON (built-ins included).
    expect(got.config.late_commands).toHaveProperty('10_env');
    expect(got.config.extract_commands).toEqual({ builtin: ['curtin', 'extract'] });
    // The working dir is removed at the end; the config and log are saved 0400.
    expect(existsSync(wd)).toBe(false);
    const saved = path.join(target, 'root/curtin-install-cfg.yaml');
    expect(statSync(saved).mode & 0o777).toBe(0o400);
    expect(readFileSync(saved, 'utf8')).toMatch(/10_env/);
    expect(statSync(path.join(target, 'root/curtin-install.log')).mode & 0o777).toBe(0o400);
  });

  it('a failing late command: exit 3, a FAIL chain, an error tarball, nothing after it runs', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const cfg = path.join(dir, 'fail.yaml');
    writeFileSync(
      cfg,
      [
        'reporting: {maas: {type: webhook, endpoint: "http://127.0.0.1:9/", consumer_key: ck, token_key: tk, token_secret: s3cr3t}}',
        'late_commands:',
        '  10_ok: echo before-failure',
        '  20_fail: "echo about to fail; exit 7"',
        `  30_never: touch ${dir}/never`,
      ].join('\n'),
    );
    const r = await px(['install', '--json', '--target', target, '-c', cfg, ...logSets(dir)]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^pxm: install failed: stage late: 20_fail: sh -c .*exit status 7/m);
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
    // --json: stdout is only events; command output went to stderr.
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    expect(r.stderr).toContain('about to fail');
    const finishes = events(r.stdout).filter((e) => e.event_type === 'finish');
    const result = (name: string) => finishes.find((e) => e.name === name)?.result;
    expect(result('cmd-install/stage-late/10_ok')).toBe('SUCCESS');
    expect(result('cmd-install/stage-late/20_fail')).toBe('FAIL');
    expect(result('cmd-install/stage-late')).toBe('FAIL');
    expect(result('cmd-install')).toBe('FAIL');
    expect(result('cmd-install/stage-early')).toBe('SUCCESS');
    expect(finishes.find((e) => e.name === 'cmd-install/stage-late/30_never')).toBeUndefined();
    // The error tarball: cause, redacted config, log, env.
    const tarball = path.join(dir, 'errors.tar');
    expect(r.stderr).toContain(`pxm: error logs: ${tarball}`);
    const listing = execFileSync('tar', ['-tf', tarball], { encoding: 'utf8' }).split('\n');
    for (const f of ['cause.txt', 'config.yaml', 'install.log', 'env.txt']) {
      expect(listing).toContain(`pxm-error-logs/${f}`);
    }
    const out = path.join(dir, 'x');
    execFileSync('mkdir', [out]);
    execFileSync('tar', ['-xf', tarball, '-C', out]);
    const inTar = (f: string) => readFileSync(path.join(out, 'pxm-error-logs', f), 'utf8');
    expect(inTar('cause.txt')).toMatch(/stage late: 20_fail/);
    expect(inTar('install.log')).toContain('about to fail');
    expect(inTar('env.txt')).toContain(`TARGET_MOUNT_POINT=${target}`);
    expect(inTar('config.yaml')).toContain('token_secret: <redacted>');
    expect(inTar('config.yaml')).not.toContain('s3cr3t');
    // The failed install saved nothing into the target.
    expect(existsSync(path.join(target, 'root/curtin-install-cfg.yaml'))).toBe(false);
  });

  it('--dry-run prints the ordered plan and changes nothing', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const before = readdirSync(os.tmpdir()).filter(
      (f) => f.startsWith('pxm-install-') && !f.startsWith('pxm-install-test-'),
    );
    const r = await px([
      'install',
      '--dry-run',
      '--target',
      target,
      '-c',
      fx('10-maas-base.yaml'),
      '-c',
      fx('20-site.yaml'),
      ...logSets(dir),
    ]);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(dir)).toEqual([]); // no target, no log, no tarball
    const after = readdirSync(os.tmpdir()).filter(
      (f) => f.startsWith('pxm-install-') && !f.startsWith('pxm-install-test-'),
    );
    expect(after.filter((f) => !before.includes(f))).toEqual([]); // no working dir
    const lines = r.stdout.split('\n');
    const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(idx(/^# stage early/)).toBeLessThan(idx(/early-10/));
    expect(idx(/early-10/)).toBeLessThan(idx(/early-9/));
    expect(idx(/early-20/)).toBe(-1);
    expect(lines.find((l) => l.includes('partitioning'))).toMatch(/skipped/);
    expect(idx(/^write .*\/etc\/a /)).toBeGreaterThan(idx(/^# stage extract/));
    expect(idx(/^run +echo site-late/)).toBeGreaterThan(idx(/^# stage late/));
    expect(lines).toContain(
      `write ${target}/root/curtin-install-cfg.yaml    # merged config (0400)`,
    );
  });

  it('a bad config fails before anything runs, naming file and key path', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const r = await px([
      'install',
      '--target',
      target,
      '-c',
      fx('10-maas-base.yaml'),
      '-c',
      fx('bad-type.yaml'),
      ...logSets(dir),
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `pxm: ${fx('bad-type.yaml')}: late_commands/15_yaml_bool: expected a command`,
    );
    expect(r.stderr).toContain(
      `\n${fx('bad-type.yaml')}: late_commands/20_bad: expected a command`,
    );
    expect(readdirSync(dir)).toEqual([]);
    const v = await px(['config', 'validate', '-c', fx('bad-reporting.yaml')]);
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toContain(
      `${fx('bad-reporting.yaml')}: reporting/maas: expected key "endpoint" (missing)`,
    );
    const root = await px(['install', '--target', '/', '--set', `install/log_file=${dir}/l`]);
    expect(root.exitCode).toBe(2);
    expect(root.stderr).toContain('--target /: refusing to install over the running system');
    const ok = await px([
      'config',
      'validate',
      '--target',
      target,
      '-c',
      fx('10-maas-base.yaml'),
      '-c',
      fx('20-site.yaml'),
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
  });

  it('config show prints the merged config as YAML or JSON', async () => {
    const r = await px([
      'config',
      'show',
      '--json',
      '-c',
      fx('10-maas-base.yaml'),
      '--set',
      'late_commands/maas=overridden',
      '/srv/root.tar',
    ]);
    expect(r.exitCode).toBe(0);
    const cfg = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    expect(cfg.late_commands?.maas).toBe('overridden');
    expect(cfg.sources).toEqual({ '00_cmdline': '/srv/root.tar' });
    const y = await px(['config', 'show', '-c', fx('20-site.yaml')]);
    expect(y.stdout).toMatch(/^early_commands:\n {2}20_skipped_later: null$/m);
  });

  it('the network stage renders network: into OUTPUT_NETWORK_CONFIG; a bad one names its file', async () => {
    const dir = tmp();
    const target = path.join(dir, 'target');
    const cfg = path.join(dir, 'net.yaml');
    writeFileSync(
      cfg,
      [
        'network:',
        '  version: 1',
        '  config:',
        '    - {type: physical, name: eth0, mac_address: "52:54:00:12:34:56", subnets: [{type: static, address: 192.0.2.10/24}]}',
        'late_commands:',
        '  10_copy: cp "$OUTPUT_NETWORK_CONFIG" "$TARGET_MOUNT_POINT/network_config"',
      ].join('\n'),
    );
    const r = await px(['install', '--target', target, '-c', cfg, ...logSets(dir)]);
    expect(r.exitCode).toBe(0);
    const rendered = readFileSync(path.join(target, 'network_config'), 'utf8');
    expect(rendered).toMatch(/name: eth0/);
    expect(rendered).toMatch(/192\.0\.2\.10\/24/);
    const bad = path.join(dir, 'badnet.yaml');
    writeFileSync(
      bad,
      'network:\n  version: 1\n  config:\n    - {type: physical, subnets: [{type: dhcp}]}\n',
    );
    const v = await px(['install', '--target', path.join(dir, 't2'), '-c', bad, ...logSets(dir)]);
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toContain(`pxm: ${bad}: network/config[0]:`);
    expect(existsSync(path.join(dir, 't2'))).toBe(false);
  });

  it('an unimplemented curtin subcommand fails clearly, naming it', async () => {
    const dir = tmp();
    const r = await px([
      'install',
      '--target',
      path.join(dir, 't'),
      '--set',
      'late_commands/10_apt=curtin apt-config --target $TARGET_MOUNT_POINT',
      ...logSets(dir),
    ]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('curtin apt-config: not supported by pxm yet');
  });
});
