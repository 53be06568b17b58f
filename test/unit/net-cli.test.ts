// pxm net-meta as a user runs it (the built bundle): modes, errors and exit statuses.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { pxm } from '../helpers/pxm.js';
import { OWN_FIXTURES, SHARED_EXAMPLES, loadYaml } from './net-helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'pxm-net-cli-'));
  dirs.push(d);
  return d;
}

describe('pxm net-meta', () => {
  it('custom --config FILE --output FILE writes the network config in curtin format', async () => {
    const out = path.join(await tmp(), 'network_config');
    const cfg = path.join(SHARED_EXAMPLES, 'network-all.yaml');
    const r = await pxm(['net-meta', '--config', cfg, 'custom', '--output', out]);
    expect(r.exitCode).toBe(0);
    // The example's global route has no reachable gateway: said, not fatal.
    expect(r.stderr).toContain(
      "pxm: warning: route to 10.0.0.0/8 via 11.0.0.1: no interface has a static address on the gateway's subnet; not rendered",
    );
    expect(parse(await readFile(out, 'utf8'))).toEqual({
      network: (loadYaml(cfg) as { network: unknown }).network,
    });
  });

  it('a bad network config: exit 2, every problem named by entry, nothing written', async () => {
    const out = path.join(await tmp(), 'network_config');
    const r = await pxm([
      'net-meta',
      'custom',
      '-c',
      path.join(OWN_FIXTURES, 'bad-v1.yaml'),
      '-o',
      out,
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'network/config[2] (bond0): bond_interfaces refers to eth9, which is not defined',
    );
    expect(r.stderr).toContain(
      'network/config[3] (eth0.5000): vlan_id must be an integer from 1 to 4094',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('custom without network: is a usage error; disabled writes nothing', async () => {
    const dir = await tmp();
    const r = await pxm(['net-meta', 'custom', '-o', path.join(dir, 'x')], { env: { CONFIG: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('net-meta custom needs a network: key');
    const off = await pxm([
      'net-meta',
      '-c',
      path.join(OWN_FIXTURES, 'disabled.yaml'),
      '-o',
      path.join(dir, 'y'),
    ]);
    expect(off.exitCode).toBe(0);
    expect(off.stdout).toContain('disabled');
    expect(existsSync(path.join(dir, 'y'))).toBe(false);
  });

  it('--dry-run prints the write step and writes nothing', async () => {
    const out = path.join(await tmp(), 'network_config');
    const r = await pxm([
      'net-meta',
      '-c',
      path.join(OWN_FIXTURES, 'v2-server.yaml'),
      '-o',
      out,
      '--dry-run',
    ]);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout).trim()).toBe(`write ${out}    # network config (custom)`);
    expect(existsSync(out)).toBe(false);
  });
});
