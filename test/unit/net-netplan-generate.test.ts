// The rendered netplan YAML is fed to Debian's real `netplan generate --root-dir`, which
// must accept it and produce networkd files that say what pxm's own networkd renderer
// says for the same config (same addresses, gateways, DHCP, device kinds, membership).
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseNetworkConfig } from '../../src/net/config.js';
import { renderNetworkd } from '../../src/net/render-networkd.js';
import { renderWith } from '../../src/net/target.js';
import { capable, haveCommand } from '../helpers/capability.js';
import { OWN_FIXTURES, SHARED_EXAMPLES, iniValues, loadYaml } from './net-helpers.js';

const run = promisify(execFile);
const canRun = capable(haveCommand('netplan'), 'netplan generate tests');

const EXAMPLES = [
  path.join(SHARED_EXAMPLES, 'network-all.yaml'),
  path.join(SHARED_EXAMPLES, 'network-simple.yaml'),
  path.join(SHARED_EXAMPLES, 'tests_network_v2_passthrough.yaml'),
  path.join(OWN_FIXTURES, 'v1-datacenter.yaml'),
  path.join(OWN_FIXTURES, 'v1-dhcp-manual.yaml'),
  path.join(OWN_FIXTURES, 'v2-server.yaml'),
];

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function netplanGenerate(file: string) {
  const doc = parseNetworkConfig(loadYaml(file));
  if (doc.kind === 'disabled') throw new Error('disabled');
  const root = await mkdtemp(path.join(tmpdir(), 'pxm-netplan-'));
  roots.push(root);
  for (const f of renderWith('netplan', doc)) {
    await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
    await writeFile(path.join(root, f.path), f.content, { mode: f.mode });
  }
  const res = await run('netplan', ['generate', '--root-dir', root]).catch(
    (e: { stderr?: string; message: string }) => {
      throw new Error(`netplan generate rejected ${path.basename(file)}: ${e.stderr ?? e.message}`);
    },
  );
  const outDir = path.join(root, 'run/systemd/network');
  const generated = new Map<string, string>();
  for (const name of await readdir(outDir)) {
    generated.set(name, await readFile(path.join(outDir, name), 'utf8'));
  }
  return { doc, root, stderr: res.stderr, generated };
}

describe.skipIf(!canRun)('netplan generate --root-dir accepts rendered netplan', () => {
  for (const file of EXAMPLES) {
    it(`${path.basename(file)}: accepted, and netplan's networkd output matches pxm's`, async () => {
      const { doc, root, stderr, generated } = await netplanGenerate(file);
      // No "Permissions ... too open" or deprecation complaints either.
      expect(stderr).toBe('');
      const mode = (await stat(path.join(root, 'etc/netplan/50-cloud-init.yaml'))).mode & 0o777;
      expect(mode).toBe(0o600);

      const ours = new Map(
        renderNetworkd(doc.state).map((f) => [path.basename(f.path), f.content]),
      );
      for (const iface of doc.state.interfaces) {
        const theirs = generated.get(`10-netplan-${iface.name}.network`);
        const mine = ours.get(`30-pxm-${iface.name}.network`);
        if (!theirs) throw new Error(`netplan wrote no .network for ${iface.name}`);
        const sorted = (text: string | undefined, sec: string, key: string) =>
          text ? iniValues(text, sec, key).sort() : [];
        expect(sorted(theirs, 'Network', 'Address'), `${iface.name} addresses`).toEqual(
          sorted(mine, 'Network', 'Address'),
        );
        expect(sorted(theirs, 'Network', 'DHCP'), `${iface.name} DHCP`).toEqual(
          sorted(mine, 'Network', 'DHCP'),
        );
        expect(sorted(theirs, 'Route', 'Gateway'), `${iface.name} gateways`).toEqual(
          sorted(mine, 'Route', 'Gateway'),
        );
        for (const key of ['Bond', 'Bridge', 'VLAN', 'IPv6AcceptRA'])
          expect(sorted(theirs, 'Network', key), `${iface.name} ${key}`).toEqual(
            sorted(mine, 'Network', key),
          );
        if (iface.type !== 'physical') {
          const theirDev = generated.get(`10-netplan-${iface.name}.netdev`) ?? '';
          const myDev = ours.get(`20-pxm-${iface.name}.netdev`) ?? '';
          expect(iniValues(theirDev, 'NetDev', 'Kind')).toEqual(iniValues(myDev, 'NetDev', 'Kind'));
          for (const [sec, key] of [
            ['Bond', 'Mode'],
            ['Bond', 'LACPTransmitRate'],
            ['Bond', 'TransmitHashPolicy'],
            ['VLAN', 'Id'],
          ])
            expect(iniValues(theirDev, sec!, key!), `${iface.name} ${key}`).toEqual(
              iniValues(myDev, sec!, key!),
            );
        }
        if (iface.rename) {
          const link = generated.get(`10-netplan-${iface.name}.link`) ?? '';
          expect(iniValues(link, 'Match', 'PermanentMACAddress')).toEqual([iface.mac]);
          expect(iniValues(link, 'Link', 'Name')).toEqual([iface.name]);
        }
      }
    });
  }

  it('netplan generate rejects the original mac_address spelling: pxm fixes it', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pxm-netplan-'));
    roots.push(root);
    await mkdir(path.join(root, 'etc/netplan'), { recursive: true });
    const example = loadYaml(path.join(SHARED_EXAMPLES, 'tests_network_v2_passthrough.yaml')) as {
      network: unknown;
    };
    // Only the network: part, as netplan would get it passed through unchanged.
    const text = stringify({ network: example.network });
    await writeFile(path.join(root, 'etc/netplan/50.yaml'), text, { mode: 0o600 });
    await expect(run('netplan', ['generate', '--root-dir', root])).rejects.toMatchObject({
      stderr: expect.stringContaining("unknown key 'mac_address'"),
    });
  });
});
