// `pxm curthooks` as a user runs it on a directory target: configures it from --config,
// refuses a bad key naming file-independent key path with exit 2 and touches nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pxm } from '../helpers/pxm.js';

let top: string;
beforeAll(async () => {
  top = await mkdtemp(path.join(tmpdir(), 'pxm-hooks-cli-'));
});
afterAll(async () => {
  await rm(top, { recursive: true, force: true });
});

async function target(name: string): Promise<string> {
  const root = path.join(top, name);
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(path.join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
  return root;
}

describe('pxm curthooks', () => {
  it('configures a directory target from --config and --fstab', async () => {
    const root = await target('ok');
    const cfg = path.join(top, 'ok.yaml');
    await writeFile(cfg, 'hostname: cli-node\nswap: {size: 0}\n');
    const fstab = path.join(top, 'fstab');
    await writeFile(fstab, 'UUID=abcd / ext4 defaults 0 1\n');
    const r = await pxm(['curthooks', '--target', root, '-c', cfg, '--fstab', fstab], {
      env: { TARGET_MOUNT_POINT: '', CONFIG: '', OUTPUT_FSTAB: '', OUTPUT_NETWORK_CONFIG: '' },
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await readFile(path.join(root, 'etc/hostname'), 'utf8')).toBe('cli-node\n');
    expect(await readFile(path.join(root, 'etc/fstab'), 'utf8')).toBe(
      'UUID=abcd / ext4 defaults 0 1\n',
    );
  });

  it('refuses a bad key with exit 2, naming it, before changing anything', async () => {
    const root = await target('bad');
    const cfg = path.join(top, 'bad.yaml');
    await writeFile(cfg, 'hostname: fine\nswap: {size: lots}\n');
    const r = await pxm(['curthooks', '--target', root, '-c', cfg]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/swap\/size/);
    expect(existsSync(path.join(root, 'etc/hostname'))).toBe(false);
  });
});
