// `pxm server --dhcp` refuses bad setups before anything starts, naming the problem.
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import { createNs, removeNs, uniqueTag } from '../helpers/netns.js';
import { bundlePath } from '../helpers/pxm.js';

const ok = capable(all(haveRoot(), haveCommand('ip')), 'pxm server --dhcp CLI checks');

describe.skipIf(!ok)('pxm server --dhcp refuses bad setups', () => {
  let ns: string;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxm-dhcp-cli-'));
    ns = createNs(`pxl-${uniqueTag()}`);
    // A veth end with no IPv4 address (its peer stays in the same namespace).
    execFileSync('ip', [
      '-n',
      ns,
      'link',
      'add',
      'noaddr0',
      'type',
      'veth',
      'peer',
      'name',
      'noaddr1',
    ]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'noaddr0', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '10.81.0.1/24', 'dev', 'lo']);
  });
  afterAll(() => {
    if (ns) removeNs(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  const server = (args: string[]) =>
    execa(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        bundlePath,
        'server',
        '--data-dir',
        path.join(dir, 'data'),
        '--http-port',
        '0',
        ...args,
      ],
      {
        reject: false,
        timeout: 30_000,
      },
    );

  it('an interface without IPv4', async () => {
    const r = await server(['--dhcp', 'full', '--interface', 'noaddr0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--interface noaddr0: has no IPv4 address');
    // Validation came first: the controller never started (no data dir created).
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('a missing --interface or an unknown one', async () => {
    const r = await server(['--dhcp', 'proxy']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--dhcp proxy: needs --interface IFACE');
    const u = await server(['--dhcp', 'proxy', '--interface', 'nope0']);
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toContain('--interface nope0: no such interface');
  });

  it('a bad dhcp: section, naming file and key', async () => {
    const cfg = path.join(dir, 'bad.yaml');
    writeFileSync(cfg, 'dhcp:\n  subnet: 10.0.0.0/24\n  range: [10.0.0.10, 10.0.1.5]\n');
    const r = await server(['--config', cfg, '--dhcp', 'full', '--interface', 'noaddr0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${cfg}: dhcp.range: must lie inside 10.0.0.0/24`);
  });
});
