// A whole disk install on a real loop device: storage (partition, mkfs, mount at the
// target), a tarball source, late commands, the config and log saved on the new root
// file system, everything unmounted at the end.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import {
  attachLoop,
  cleanupAllLoops,
  mountsUnder,
  partitionNodes,
  tempDir,
} from '../helpers/loopdev.js';
import { pxm } from '../helpers/pxm.js';

const can = capable(
  all(
    haveRoot(),
    haveCommand('losetup'),
    haveCommand('partx'),
    haveCommand('mkfs.ext4'),
    haveCommand('sgdisk'),
  ),
  'disk install on a loop device',
);

afterAll(() => cleanupAllLoops());

describe.runIf(can)('pxm install onto a disk named by storage:', () => {
  it('partitions, formats, mounts, extracts, saves config and log, and unmounts', async () => {
    const dir = tempDir('pxm-install-disk-');
    const loop = attachLoop(dir, 'disk0', 512 * 1024 * 1024);
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'etc'), { recursive: true });
    writeFileSync(path.join(tree, 'etc/hostname'), 'disk-installed\n');
    // Big enough that the compressed source is more than a few hundred bytes.
    writeFileSync(
      path.join(tree, 'etc/data'),
      Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 251)),
    );
    const tarball = path.join(dir, 'root.tgz');
    execFileSync('tar', ['-C', tree, '-czf', tarball, '.']);
    const cfg = path.join(dir, 'disk.yaml');
    writeFileSync(
      cfg,
      [
        'storage:',
        '  version: 1',
        '  config:',
        `    - {id: disk0, type: disk, path: ${loop.dev}, ptable: gpt, wipe: superblock}`,
        '    - {id: p1, type: partition, device: disk0, number: 1, size: 200M}',
        '    - {id: fs1, type: format, volume: p1, fstype: ext4, label: pxmroot}',
        '    - {id: m1, type: mount, device: fs1, path: /}',
        'late_commands:',
        '  10_mounted: mountpoint -q "$TARGET_MOUNT_POINT" && echo mounted > "$TARGET_MOUNT_POINT/late-saw-mount"',
        '  20_fstab: cp "$OUTPUT_FSTAB" "$TARGET_MOUNT_POINT/fstab.from-pxm"',
        'install:',
        `  log_file: ${dir}/install.log`,
        `  error_tarfile: ${dir}/errors.tar`,
      ].join('\n'),
    );
    const r = await pxm(['install', '-c', cfg, tarball]);
    expect(String(r.stderr)).not.toMatch(/install failed/);
    expect(r.exitCode).toBe(0);
    const log = readFileSync(path.join(dir, 'install.log'), 'utf8');
    const target = /pxm install: target (\S+)/.exec(log)?.[1] ?? '';
    expect(target).toMatch(/pxm-install-.*\/target$/);
    expect(mountsUnder(target)).toEqual([]);
    // Look at the new root file system.
    const part = partitionNodes(loop.dev)[0] ?? '';
    expect(part).toMatch(/p1$/);
    const mnt = path.join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'ro', part, mnt]);
    try {
      expect(readFileSync(path.join(mnt, 'etc/hostname'), 'utf8')).toBe('disk-installed\n');
      expect(readFileSync(path.join(mnt, 'late-saw-mount'), 'utf8')).toBe('mounted\n');
      expect(readFileSync(path.join(mnt, 'fstab.from-pxm'), 'utf8')).toMatch(
        /^UUID=\S+\s+\/\s+ext4\s/m,
      );
      expect(statSync(path.join(mnt, 'root/curtin-install-cfg.yaml')).mode & 0o777).toBe(0o400);
      expect(readFileSync(path.join(mnt, 'root/curtin-install.log'), 'utf8')).toContain(
        'finish: cmd-install/stage-late/10_mounted: SUCCESS',
      );
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
