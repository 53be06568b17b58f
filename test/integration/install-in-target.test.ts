// in-target for real: bind mounts, policy-rc.d, resolv.conf, chroot into a busybox tree;
// everything undone afterwards, also when the command fails. And `curtin in-target` from
// stage commands (argv list and shell string) through the shim.
import { afterAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  copyFileSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { all, capable, haveCommand, haveFile, haveRoot } from '../helpers/capability.js';
import { pxm } from '../helpers/pxm.js';

const can = capable(
  all(haveRoot(), haveCommand('chroot'), haveFile('/bin/busybox')),
  'in-target tests (root, chroot, busybox-static)',
);
const dirs: string[] = [];

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

afterAll(() => {
  for (const d of dirs) {
    // Never rm -rf through a bind mount of the host's /dev or /sys.
    if (mountsUnder(d).length === 0) rmSync(d, { recursive: true, force: true });
  }
});

/** A minimal root: busybox as sh, cat, ls, touch; its own resolv.conf; /usr/sbin. */
function busyboxRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pxm-intarget-test-'));
  dirs.push(root);
  for (const d of ['bin', 'etc', 'usr/sbin']) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  for (const tool of ['sh', 'cat', 'ls', 'touch', 'test', 'echo'])
    symlinkSync('busybox', path.join(root, 'bin', tool));
  writeFileSync(path.join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53 # the image own\n');
  return root;
}

describe.runIf(can)('pxm in-target', () => {
  it('mounts, chroots, and undoes everything when the command fails', async () => {
    const root = busyboxRoot();
    const script = [
      'test -e /proc/self/status && echo proc-ok',
      'test -e /dev/null && echo dev-ok',
      'test -d /sys/class && echo sys-ok',
      'test -x /usr/sbin/policy-rc.d && /usr/sbin/policy-rc.d; echo policy=$?',
      'cat /etc/resolv.conf',
      'exit 9',
    ].join('; ');
    const r = await pxm(['in-target', '--target', root, '--', 'sh', '-c', script]);
    expect(r.exitCode).toBe(9);
    const out = String(r.stdout);
    expect(out).toContain('proc-ok');
    expect(out).toContain('dev-ok');
    expect(out).toContain('sys-ok');
    expect(out).toContain('policy=101');
    expect(out).toContain(readFileSync('/etc/resolv.conf', 'utf8').split('\n')[0]);
    // Afterwards: nothing mounted, the image's resolv.conf back, no policy-rc.d, no strays.
    expect(mountsUnder(root)).toEqual([]);
    expect(readFileSync(path.join(root, 'etc/resolv.conf'), 'utf8')).toContain('the image own');
    expect(existsSync(path.join(root, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['bin', 'etc', 'usr']);
    expect(readdirSync(path.join(root, 'etc'))).toEqual(['resolv.conf']);
  });

  it('unmounts also when the command cannot even start', async () => {
    const root = busyboxRoot();
    const r = await pxm(['in-target', '--target', root, '--', '/no/such/program']);
    expect(r.exitCode).not.toBe(0);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('stage commands reach pxm through the curtin shim (argv list and shell string)', async () => {
    const root = busyboxRoot();
    const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-intarget-test-'));
    dirs.push(work);
    const cfg = path.join(work, 'maas-like.yaml');
    writeFileSync(
      cfg,
      [
        'late_commands:',
        "  10_list: [curtin, in-target, --, sh, -c, 'echo from-argv > /argv-marker']",
        '  20_shell: curtin in-target --target "$TARGET_MOUNT_POINT" -- sh -c "echo $CURTIN_REPORTSTACK > /shell-marker"',
        `  30_check_mounts: "! grep -q ' $TARGET_MOUNT_POINT/' /proc/self/mountinfo"`,
        'install:',
        `  log_file: ${work}/install.log`,
        `  error_tarfile: ${work}/errors.tar`,
      ].join('\n'),
    );
    const r = await pxm(['install', '--target', root, '-c', cfg]);
    expect(String(r.stderr)).not.toMatch(/failed/);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(path.join(root, 'argv-marker'), 'utf8')).toBe('from-argv\n');
    // Expanded by the host shell before chroot: the stack of the calling command.
    expect(readFileSync(path.join(root, 'shell-marker'), 'utf8')).toBe(
      'cmd-install/stage-late/20_shell\n',
    );
    expect(mountsUnder(root)).toEqual([]);
  });
});
