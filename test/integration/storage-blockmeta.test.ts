// `pxm block-meta` on real loop devices: tables written and read back with sfdisk --json,
// filesystems checked with blkid, mounts checked in /proc/self/mounts and through files
// written into them, fstab checked against blkid's UUIDs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { all, capable, haveCommand, haveRoot } from '../helpers/capability.js';
import {
  attachLoop,
  blkid,
  cleanupAllLoops,
  forgetPartitions,
  loopsBackedBy,
  mountsInOrder,
  mountsUnder,
  partitionNodes,
  run,
  sfdiskJson,
  tempDir,
  type LoopDevice,
} from '../helpers/loopdev.js';
import { pxm } from '../helpers/pxm.js';

const MiB = 1024 * 1024;
const ok = capable(
  all(
    haveRoot(),
    ...[
      'losetup',
      'sfdisk',
      'partx',
      'wipefs',
      'mkfs.ext4',
      'mkfs.xfs',
      'mkfs.btrfs',
      'mkfs.vfat',
      'mkswap',
      'blkid',
      'lsblk',
    ].map(haveCommand),
  ),
  'storage block-meta integration',
);

describe.skipIf(!ok)('pxm block-meta on loop devices', () => {
  let dir: string;
  const files: string[] = [];
  beforeAll(() => {
    dir = tempDir('pxm-storage-bm-');
  });
  afterAll(() => {
    cleanupAllLoops();
    // No loop device or stale partition node of ours survives the suite.
    for (const f of files) expect(loopsBackedBy(f)).toEqual([]);
  });

  let seq = 0;
  function disk(sizeMiB: number): LoopDevice {
    const l = attachLoop(dir, `d${++seq}`, sizeMiB * MiB);
    files.push(l.file);
    return l;
  }
  function configFile(config: unknown[]): string {
    const f = path.join(dir, `cfg${++seq}.yaml`);
    writeFileSync(f, stringify({ storage: { version: 1, config } }));
    return f;
  }
  function umountAll(target: string): void {
    for (const m of mountsUnder(target)) run('umount', [m]);
  }

  it('builds gpt with every gpt flag, ext4/xfs/btrfs/swap/vfat, mounts in path order, fstab by UUID', async () => {
    const d = disk(1200);
    const target = path.join(dir, 'target1');
    const fstab = path.join(dir, 'fstab1');
    const flags = ['bios_grub', 'boot', 'esp', 'prep', 'swap', 'lvm', 'raid', 'home', 'linux'];
    const cfg = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, ptable: 'gpt', wipe: 'superblock' },
      ...flags.map((flag, i) => ({
        id: `p-${flag}`,
        type: 'partition',
        device: 'disk0',
        size: i === 0 ? '1M' : '40M',
        flag,
      })),
      { id: 'p-root', type: 'partition', device: 'disk0', size: '320M' },
      { id: 'p-srv', type: 'partition', device: 'disk0', size: '320M', number: 12 },
      { id: 'f-esp', type: 'format', volume: 'p-boot', fstype: 'fat32', label: 'ESP' },
      { id: 'f-swap', type: 'format', volume: 'p-swap', fstype: 'swap', label: 'sw' },
      { id: 'f-home', type: 'format', volume: 'p-home', fstype: 'ext4', label: 'home' },
      { id: 'f-linux', type: 'format', volume: 'p-linux', fstype: 'ext3' },
      {
        id: 'f-root',
        type: 'format',
        volume: 'p-root',
        fstype: 'xfs',
        label: 'root',
        uuid: '2f1f6a4e-6b1e-4d38-9d43-2b3a4f7d9c10',
      },
      { id: 'f-srv', type: 'format', volume: 'p-srv', fstype: 'btrfs', label: 'srv' },
      // Deliberately listed deepest first: mount order must follow the paths.
      { id: 'm-data', type: 'mount', device: 'f-linux', path: '/srv/data' },
      { id: 'm-srv', type: 'mount', device: 'f-srv', path: '/srv', options: 'noatime' },
      { id: 'm-swap', type: 'mount', device: 'f-swap', path: 'none' },
      { id: 'm-home', type: 'mount', device: 'f-home', path: '/home' },
      { id: 'm-root', type: 'mount', device: 'f-root', path: '/' },
    ]);
    try {
      const r = await pxm([
        'block-meta',
        'custom',
        '--config',
        cfg,
        '--target',
        target,
        '--fstab',
        fstab,
      ]);
      expect(r.stderr).not.toMatch(/pxm: /);
      expect(r.exitCode).toBe(0);

      const table = sfdiskJson(d.dev);
      expect(table.label).toBe('gpt');
      expect(table.partitions.map((p) => [p.node, p.start, p.size, p.type])).toEqual([
        [`${d.dev}p1`, 2048, 2048, '21686148-6449-6E6F-744E-656564454649'],
        [`${d.dev}p2`, 4096, 81920, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
        [`${d.dev}p3`, 86016, 81920, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
        [`${d.dev}p4`, 167936, 81920, '9E1A2D38-C612-4316-AA26-8B49521E5A8B'],
        [`${d.dev}p5`, 249856, 81920, '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F'],
        [`${d.dev}p6`, 331776, 81920, 'E6D6D379-F507-44C2-A23C-238F2A3DF928'],
        [`${d.dev}p7`, 413696, 81920, 'A19D880F-05FC-4D3B-A006-743F0F84911E'],
        [`${d.dev}p8`, 495616, 81920, '933AC7E1-2EB4-4F13-B844-0E14E2AEF915'],
        [`${d.dev}p9`, 577536, 81920, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
        [`${d.dev}p10`, 659456, 655360, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
        [`${d.dev}p12`, 1314816, 655360, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
      ]);
      // lsblk (sysfs) agrees: the kernel has a node for every partition.
      const lsblk = JSON.parse(run('lsblk', ['--json', '-b', '-o', 'NAME,SIZE', d.dev])) as {
        blockdevices: { children?: { name: string; size: number }[] }[];
      };
      expect(lsblk.blockdevices[0]?.children?.map((c) => c.name)).toHaveLength(11);

      expect(blkid(`${d.dev}p2`)).toMatchObject({ TYPE: 'vfat', VERSION: 'FAT32', LABEL: 'ESP' });
      expect(blkid(`${d.dev}p2`).UUID).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
      expect(blkid(`${d.dev}p5`)).toMatchObject({ TYPE: 'swap', LABEL: 'sw' });
      expect(blkid(`${d.dev}p8`)).toMatchObject({ TYPE: 'ext4', LABEL: 'home' });
      expect(blkid(`${d.dev}p9`)).toMatchObject({ TYPE: 'ext3' });
      expect(blkid(`${d.dev}p10`)).toMatchObject({
        TYPE: 'xfs',
        LABEL: 'root',
        UUID: '2f1f6a4e-6b1e-4d38-9d43-2b3a4f7d9c10',
      });
      expect(blkid(`${d.dev}p12`)).toMatchObject({ TYPE: 'btrfs', LABEL: 'srv' });

      // Mount order = order in /proc/self/mounts: parents first, though listed last.
      expect(mountsInOrder(target)).toEqual([
        target,
        `${target}/home`,
        `${target}/srv`,
        `${target}/srv/data`,
      ]);
      const mounts = readFileSync('/proc/self/mounts', 'utf8');
      expect(mounts).toContain(`${d.dev}p12 ${target}/srv btrfs rw,noatime`);
      // A file written through the mount lands on that filesystem.
      writeFileSync(`${target}/srv/data/marker`, 'on ext3');
      umountAll(target);
      const check = path.join(dir, 'check');
      mkdirSync(check, { recursive: true });
      run('mount', [`${d.dev}p9`, check]);
      expect(readFileSync(`${check}/marker`, 'utf8')).toBe('on ext3');
      run('umount', [check]);

      const uuid = (n: number) => blkid(`${d.dev}p${n}`).UUID;
      expect(readFileSync(fstab, 'utf8')).toBe(
        [
          `# / was on ${d.dev}p10 during curtin installation`,
          `UUID=2f1f6a4e-6b1e-4d38-9d43-2b3a4f7d9c10 / xfs defaults 0 1`,
          `# /home was on ${d.dev}p8 during curtin installation`,
          `UUID=${uuid(8)} /home ext4 defaults 0 0`,
          `# /srv was on ${d.dev}p12 during curtin installation`,
          `UUID=${uuid(12)} /srv btrfs noatime 0 0`,
          `# /srv/data was on ${d.dev}p9 during curtin installation`,
          `UUID=${uuid(9)} /srv/data ext3 defaults 0 0`,
          `# swap was on ${d.dev}p5 during curtin installation`,
          `UUID=${uuid(5)} none swap sw 0 0`,
          '',
        ].join('\n'),
      );
    } finally {
      umountAll(target);
    }
  });

  it('builds msdos with primary, extended and logical partitions and every msdos flag', async () => {
    const d = disk(400);
    const target = path.join(dir, 'target2');
    const cfg = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, ptable: 'msdos' },
      { id: 'p1', type: 'partition', device: 'disk0', size: '64M', flag: 'boot' },
      { id: 'p2', type: 'partition', device: 'disk0', size: '16M', flag: 'prep' },
      { id: 'ext', type: 'partition', device: 'disk0', size: '250M', flag: 'extended' },
      { id: 'l5', type: 'partition', device: 'disk0', size: '64M', flag: 'logical' },
      { id: 'l6', type: 'partition', device: 'disk0', size: '32M', flag: 'logical' },
      { id: 'l7', type: 'partition', device: 'disk0', size: '32M', flag: 'logical' },
      { id: 'l8', type: 'partition', device: 'disk0', size: '32M', flag: 'logical' },
      { id: 'l9', type: 'partition', device: 'disk0', size: '32M', flag: 'logical' },
      { id: 'p4', type: 'partition', device: 'disk0', size: '32M', flag: 'esp', number: 4 },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
      { id: 'f5', type: 'format', volume: 'l5', fstype: 'ext2' },
      { id: 'f4', type: 'format', volume: 'p4', fstype: 'vfat', uuid: 'abcd-1234' },
      { id: 'm5', type: 'mount', device: 'f5', path: '/var' },
      { id: 'm1', type: 'mount', device: 'f1', path: '/' },
    ]);
    try {
      const r = await pxm(['block-meta', '--config', cfg, '--target', target]);
      expect(r.stderr).not.toMatch(/pxm: /);
      expect(r.exitCode).toBe(0);
      const t = sfdiskJson(d.dev);
      expect(t.label).toBe('dos');
      expect(
        t.partitions.map((p) => [
          p.node.replace(d.dev, ''),
          p.start,
          p.size,
          p.type,
          p.bootable ?? false,
        ]),
      ).toEqual([
        ['p1', 2048, 131072, '83', true],
        ['p2', 133120, 32768, '41', false],
        ['p3', 165888, 512000, '5', false],
        ['p4', 677888, 65536, 'ef', false],
        ['p5', 167936, 131072, '83', false],
        ['p6', 301056, 65536, '83', false],
        ['p7', 368640, 65536, '83', false],
        ['p8', 436224, 65536, '83', false],
        ['p9', 503808, 65536, '83', false],
      ]);
      expect(partitionNodes(d.dev).sort()).toEqual(
        [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${d.dev}p${n}`).sort(),
      );
      expect(blkid(`${d.dev}p5`)).toMatchObject({ TYPE: 'ext2' });
      expect(blkid(`${d.dev}p4`)).toMatchObject({ TYPE: 'vfat', UUID: 'ABCD-1234' });
      expect(mountsInOrder(target)).toEqual([target, `${target}/var`]);
    } finally {
      umountAll(target);
    }
  });

  it('gives msdos lvm, raid and swap flags their type codes', async () => {
    const d = disk(200);
    const cfg = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, ptable: 'msdos', wipe: 'superblock' },
      { id: 'a', type: 'partition', device: 'disk0', size: '32M', flag: 'lvm' },
      { id: 'b', type: 'partition', device: 'disk0', size: '32M', flag: 'raid' },
      { id: 'c', type: 'partition', device: 'disk0', size: '32M', flag: 'swap' },
      { id: 'e', type: 'partition', device: 'disk0', size: '64M', flag: 'extended' },
      { id: 'l', type: 'partition', device: 'disk0', size: '32M', flag: 'logical' },
      { id: 'fs', type: 'format', volume: 'c', fstype: 'swap' },
    ]);
    const r = await pxm(['block-meta', 'custom', '-c', cfg]);
    expect(r.exitCode).toBe(0);
    expect(sfdiskJson(d.dev).partitions.map((p) => p.type)).toEqual(['8e', 'fd', '82', '5', '83']);
    expect(blkid(`${d.dev}p3`).TYPE).toBe('swap');
  });

  it('preserves an existing table and filesystem, formatting only what it is told', async () => {
    const d = disk(300);
    run(
      'sfdisk',
      ['--quiet', d.dev],
      'label: gpt\nstart=4096, size=65536\nstart=81920, size=131072\n',
    );
    run('partx', ['-a', d.dev]);
    run('mkfs.ext4', ['-q', '-F', '-L', 'keepme', `${d.dev}p2`]);
    const check = path.join(dir, 'pre');
    mkdirSync(check, { recursive: true });
    run('mount', [`${d.dev}p2`, check]);
    writeFileSync(`${check}/existing`, 'still here');
    run('umount', [check]);
    // Forget the nodes: like a fresh boot without a partition parser, pxm must add them.
    forgetPartitions(d.dev);
    const before = sfdiskJson(d.dev);
    const keptUuid = blkid(d.dev).PTUUID;
    const target = path.join(dir, 'target3');
    const cfg = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, ptable: 'gpt', preserve: true },
      {
        id: 'p1',
        type: 'partition',
        device: 'disk0',
        number: 1,
        size: '32M',
        offset: '2M',
        preserve: true,
      },
      { id: 'p2', type: 'partition', device: 'disk0', number: 2, size: '64M', preserve: true },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext2' },
      { id: 'f2', type: 'format', volume: 'p2', fstype: 'ext4', preserve: true },
      { id: 'm2', type: 'mount', device: 'f2', path: '/' },
      { id: 'm1', type: 'mount', device: 'f1', path: '/srv' },
    ]);
    try {
      const r = await pxm(['block-meta', 'custom', '-c', cfg, '-t', target]);
      expect(r.stderr).not.toMatch(/pxm: /);
      expect(r.exitCode).toBe(0);
      expect(sfdiskJson(d.dev)).toEqual(before);
      expect(blkid(d.dev).PTUUID).toBe(keptUuid);
      expect(r.stdout).not.toMatch(/sfdisk|wipefs/);
      expect(readFileSync(`${target}/existing`, 'utf8')).toBe('still here');
      expect(blkid(`${d.dev}p1`).TYPE).toBe('ext2');
      expect(blkid(`${d.dev}p2`).LABEL).toBe('keepme');
    } finally {
      umountAll(target);
    }
    // A preserved format that is not what the config says stops the run, naming the device.
    const bad = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, preserve: true },
      { id: 'p1', type: 'partition', device: 'disk0', number: 1, preserve: true },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'btrfs', preserve: true },
    ]);
    const r2 = await pxm(['block-meta', 'custom', '-c', bad]);
    expect(r2.exitCode).not.toBe(0);
    expect(r2.stderr).toContain(`preserve: ${d.dev}p1 holds a ext2 filesystem, expected btrfs`);
  });

  describe('wipe modes', () => {
    function withExt4(sizeMiB: number): LoopDevice {
      const d = disk(sizeMiB);
      run('mkfs.ext4', ['-q', '-F', d.dev]);
      expect(blkid(d.dev).TYPE).toBe('ext4');
      return d;
    }
    function fill(file: string, offset: number, len: number, byte: number): void {
      const fd = openSync(file, 'r+');
      try {
        writeSync(fd, Buffer.alloc(len, byte), 0, len, offset);
      } finally {
        closeSync(fd);
      }
    }
    /** Reads `len` bytes of the backing file at `offset`. */
    function bytesAt(file: string, offset: number, len: number): Buffer {
      return readFileSync(file).subarray(offset, offset + len);
    }

    it.each(['superblock', 'pvremove'])(
      '%s removes the filesystem signature and zeroes both ends',
      async (mode) => {
        const d = withExt4(64);
        fill(d.file, 63 * MiB, MiB, 0xaa);
        const r = await pxm([
          'block-meta',
          '-c',
          configFile([{ id: 'd', type: 'disk', path: d.dev, wipe: mode }]),
        ]);
        expect(r.exitCode).toBe(0);
        expect(blkid(d.dev).TYPE).toBeUndefined();
        expect(bytesAt(d.file, 0, MiB).every((b) => b === 0)).toBe(true);
        expect(bytesAt(d.file, 63 * MiB, MiB).every((b) => b === 0)).toBe(true);
      },
    );

    it('superblock-recursive also wipes what is inside the partitions; superblock does not', async () => {
      const setup = () => {
        const d = disk(64);
        run('sfdisk', ['--quiet', d.dev], 'label: gpt\nstart=2048, size=40960\n');
        run('partx', ['-a', d.dev]);
        run('mkfs.ext4', ['-q', '-F', `${d.dev}p1`]);
        return d;
      };
      const probeAt1MiB = (f: string) => {
        try {
          return run('blkid', ['-p', '-O', String(MiB), '-s', 'TYPE', '-o', 'value', f]).trim();
        } catch {
          return '';
        }
      };
      const shallow = setup();
      expect(
        (
          await pxm([
            'block-meta',
            '-c',
            configFile([{ id: 'd', type: 'disk', path: shallow.dev, wipe: 'superblock' }]),
          ])
        ).exitCode,
      ).toBe(0);
      expect(probeAt1MiB(shallow.file)).toBe('ext4');
      const deep = setup();
      const r = await pxm([
        'block-meta',
        '-c',
        configFile([{ id: 'd', type: 'disk', path: deep.dev, wipe: 'superblock-recursive' }]),
      ]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`wipefs --all --force --quiet ${deep.dev}p1`);
      expect(probeAt1MiB(deep.file)).toBe('');
    });

    it('zero overwrites the whole disk with zeros, random with non-zero data', async () => {
      const z = disk(16);
      writeFileSync(z.file, Buffer.alloc(16 * MiB, 0x5a), { flag: 'r+' });
      expect(
        (
          await pxm([
            'block-meta',
            '-c',
            configFile([{ id: 'd', type: 'disk', path: z.dev, wipe: 'zero' }]),
          ])
        ).exitCode,
      ).toBe(0);
      expect(readFileSync(z.file).every((b) => b === 0)).toBe(true);
      const rnd = disk(16);
      expect(
        (
          await pxm([
            'block-meta',
            '-c',
            configFile([{ id: 'd', type: 'disk', path: rnd.dev, wipe: 'random' }]),
          ])
        ).exitCode,
      ).toBe(0);
      const data = readFileSync(rnd.file);
      // Random data: every 1 MiB chunk has non-zero bytes (the file started sparse, all zero).
      for (let off = 0; off < data.length; off += MiB)
        expect(data.subarray(off, off + MiB).some((b) => b !== 0)).toBe(true);
    });

    it('wipes a partition when the partition says so', async () => {
      const d = disk(64);
      run('sfdisk', ['--quiet', d.dev], 'label: gpt\nstart=2048, size=40960\n');
      run('partx', ['-a', d.dev]);
      run('mkfs.ext4', ['-q', '-F', `${d.dev}p1`]);
      const cfg = configFile([
        { id: 'd', type: 'disk', path: d.dev, ptable: 'gpt', preserve: true },
        { id: 'p', type: 'partition', device: 'd', number: 1, preserve: true, wipe: 'superblock' },
      ]);
      expect((await pxm(['block-meta', '-c', cfg])).exitCode).toBe(0);
      expect(blkid(`${d.dev}p1`).TYPE).toBeUndefined();
    });
  });

  it('layout simple on the named disk: bios_grub + ESP (vfat) + ext4 root', async () => {
    const d = disk(1100);
    const target = path.join(dir, 'target-layout');
    const vfatMountable = readFileSync('/proc/filesystems', 'utf8').includes('\tvfat');
    try {
      const r = await pxm(['block-meta', 'simple', '--device', d.dev, '--target', target]);
      const t = sfdiskJson(d.dev);
      expect(t.partitions.map((p) => p.type)).toEqual([
        '21686148-6449-6E6F-744E-656564454649',
        'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
        '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
      ]);
      expect(blkid(`${d.dev}p2`)).toMatchObject({ TYPE: 'vfat', LABEL: 'ESP' });
      expect(blkid(`${d.dev}p3`)).toMatchObject({ TYPE: 'ext4', LABEL: 'root' });
      if (vfatMountable) {
        expect(r.exitCode).toBe(0);
        expect(mountsInOrder(target)).toEqual([target, `${target}/boot/efi`]);
      } else {
        // This host's kernel cannot mount vfat: the ESP mount fails, and the root mount
        // made before it is torn down again.
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toMatch(
          /mount .*p2 at \/boot\/efi failed.*everything it had set up was torn down/,
        );
        expect(mountsUnder(target)).toEqual([]);
      }
    } finally {
      umountAll(target);
    }
    const noDisk = await pxm(['block-meta', 'simple']);
    expect(noDisk.exitCode).toBe(2);
    expect(noDisk.stderr).toContain('storage.layout.disk: no disk named');
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const d = disk(64);
    const cfg = configFile([
      { id: 'disk0', type: 'disk', path: d.dev, ptable: 'gpt', wipe: 'superblock' },
      { id: 'p1', type: 'partition', device: 'disk0', size: '32M' },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
    ]);
    const r = await pxm(['block-meta', 'custom', '-c', cfg, '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`run   wipefs --all --force --quiet ${d.dev}`);
    expect(r.stdout).toContain(`run   sfdisk --no-tell-kernel`);
    expect(r.stdout).toMatch(new RegExp(`run   mkfs.ext4 -F -q -U [0-9a-f-]{36} ${d.dev}p1`));
    expect(readFileSync(d.file).every((b) => b === 0)).toBe(true);
    expect(existsSync(`${d.dev}p1`)).toBe(false);
    const j = await pxm(['block-meta', 'custom', '-c', cfg, '--dry-run', '--json']);
    const parsed = JSON.parse(String(j.stdout)) as {
      dryRun: boolean;
      volumes: Record<string, string>;
      steps: { kind: string }[];
    };
    expect(parsed.dryRun).toBe(true);
    expect(parsed.volumes).toEqual({ disk0: d.dev, p1: `${d.dev}p1` });
  });
});
