// The rendered ENI files are read by Debian's real ifupdown parser (`ifquery -i FILE`):
// it must accept them (it rejects unknown methods and malformed stanzas), bring up the
// interfaces pxm marked `auto`, and see the addresses and options pxm meant.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseNetworkConfig } from '../../src/net/config.js';
import { ENI_D_PATH, ENI_PATH, renderEni } from '../../src/net/render-eni.js';
import { capable, haveCommand } from '../helpers/capability.js';
import { OWN_FIXTURES, SHARED_EXAMPLES, fileAt, loadYaml, parseEni } from './net-helpers.js';

const run = promisify(execFile);
const canRun = capable(haveCommand('ifquery'), 'ifupdown parser tests');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Writes the rendered files under a temp root; returns the path of `interfaces`. */
async function place(file: string) {
  const doc = parseNetworkConfig(loadYaml(file));
  if (doc.kind === 'disabled') throw new Error('disabled');
  const root = await mkdtemp(path.join(tmpdir(), 'pxm-eni-'));
  dirs.push(root);
  const files = renderEni(doc.state);
  for (const f of files) {
    // The `source` line names the target's absolute path; point it into the temp root.
    const content = f.content.replace(
      /^source \/etc\/network\/interfaces\.d\/\*$/m,
      `source ${root}/etc/network/interfaces.d/*`,
    );
    await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
    await writeFile(path.join(root, f.path), content);
  }
  return { doc, files, interfaces: path.join(root, ENI_PATH) };
}

async function ifquery(...args: string[]): Promise<string> {
  return (await run('ifquery', args)).stdout;
}

function options(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1).trim()]);
  }
  return out;
}

describe.skipIf(!canRun)('ifupdown reads the rendered ENI', () => {
  for (const file of [
    path.join(SHARED_EXAMPLES, 'network-all.yaml'),
    path.join(SHARED_EXAMPLES, 'network-simple.yaml'),
    path.join(OWN_FIXTURES, 'v1-datacenter.yaml'),
    path.join(OWN_FIXTURES, 'v1-dhcp-manual.yaml'),
    path.join(OWN_FIXTURES, 'v2-server.yaml'),
  ]) {
    it(path.basename(file), async () => {
      const { doc, files, interfaces } = await place(file);
      const mine = parseEni(fileAt(files, ENI_D_PATH).content);
      // `ifup -a` would bring up lo and exactly what pxm marked auto, in file order.
      const autoList = (await ifquery('-i', interfaces, '--list', '-a')).trim().split('\n');
      expect(autoList).toEqual(['lo', ...mine.auto]);
      const hotplug = (await ifquery('-i', interfaces, '--list', '--allow=hotplug')).trim();
      expect(hotplug ? hotplug.split('\n') : []).toEqual(mine.hotplug);

      for (const iface of doc.state.interfaces) {
        const opts = options(await ifquery('-i', interfaces, iface.name));
        // Every static address, split by ifupdown into address + netmask.
        const statics = iface.subnets.flatMap((s) => (s.type === 'static' ? [s.address] : []));
        expect(opts.get('address') ?? [], `${iface.name} addresses`).toEqual(
          statics.map((a) => a.split('/')[0]),
        );
        if (iface.mtu !== undefined) expect(opts.get('mtu')).toEqual([String(iface.mtu)]);
        if (iface.vlan) expect(opts.get('vlan-raw-device')).toEqual([iface.vlan.link]);
        if (iface.bond) expect(opts.get('bond-slaves')).toEqual(['none']);
        if (iface.bridge)
          expect(opts.get('bridge_ports')).toEqual([iface.bridge.interfaces.join(' ')]);
        const bond = doc.state.interfaces.find((b) => b.bond?.interfaces.includes(iface.name));
        if (bond) expect(opts.get('bond-master')).toEqual([bond.name]);
      }
    });
  }

  it('ifquery is a real check: it rejects a method ifupdown does not have', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pxm-eni-'));
    dirs.push(root);
    const bad = path.join(root, 'interfaces');
    await writeFile(bad, 'auto eth0\niface eth0 inet dhcp4\n');
    await expect(run('ifquery', ['-i', bad, 'eth0'])).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown or no method'),
    });
  });
});
