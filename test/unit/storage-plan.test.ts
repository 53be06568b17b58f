import { describe, it, expect } from 'vitest';
import { planStorage } from '../../src/storage/index.js';
import { mountOrder } from '../../src/storage/plan.js';
import type { StoragePlan, StorageStep } from '../../src/storage/types.js';
import { wipeSteps } from '../../src/storage/wipe.js';
import { dev, GiB, MiB } from '../fixtures/storage/devices.js';

const devices = [
  dev('vda', 20 * GiB, { serial: 'disk-a' }),
  dev('vdb', 8 * GiB, { serial: 'disk-b' }),
  dev('vdc', 8 * GiB, { serial: 'disk-c' }),
];

let n = 0;
const seq = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function plan(
  config: unknown[],
  opts: { target?: string; fstabPath?: string } = { target: '/t', fstabPath: '/w/fstab' },
): StoragePlan {
  n = 0;
  return planStorage({ version: 1, config }, { devices }, { ...opts, randomUuid: seq });
}
const execs = (p: StoragePlan) =>
  p.steps.filter((s): s is Extract<StorageStep, { kind: 'exec' }> => s.kind === 'exec');
const argvs = (p: StoragePlan) => execs(p).map((s) => s.argv.join(' '));

describe('storage planner', () => {
  it('writes a gpt table: 1 MiB first, each next after the previous, type code per flag', () => {
    const flags = [
      'bios_grub',
      'boot',
      'esp',
      'swap',
      'lvm',
      'raid',
      'prep',
      'home',
      'linux',
      undefined,
    ];
    const p = plan(
      [
        { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
        ...flags.map((flag, i) => ({
          id: `p${i + 1}`,
          type: 'partition',
          device: 'd',
          size: i === 0 ? '1M' : '100M',
          ...(flag ? { flag } : {}),
        })),
      ],
      {},
    );
    const sf = execs(p).find((s) => s.argv[0] === 'sfdisk');
    expect(sf?.argv).toEqual([
      'sfdisk',
      '--no-tell-kernel',
      '--no-reread',
      '--quiet',
      '--wipe',
      'always',
      '--wipe-partitions',
      'always',
      '/dev/vda',
    ]);
    expect(sf?.input).toBe(
      [
        'label: gpt',
        'unit: sectors',
        '',
        '/dev/vda1 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649',
        '/dev/vda2 : start=4096, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
        '/dev/vda3 : start=208896, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
        '/dev/vda4 : start=413696, size=204800, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
        '/dev/vda5 : start=618496, size=204800, type=E6D6D379-F507-44C2-A23C-238F2A3DF928',
        '/dev/vda6 : start=823296, size=204800, type=A19D880F-05FC-4D3B-A006-743F0F84911E',
        '/dev/vda7 : start=1028096, size=204800, type=9E1A2D38-C612-4316-AA26-8B49521E5A8B',
        '/dev/vda8 : start=1232896, size=204800, type=933AC7E1-2EB4-4F13-B844-0E14E2AEF915',
        '/dev/vda9 : start=1437696, size=204800, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4',
        '/dev/vda10 : start=1642496, size=204800, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4',
        '',
      ].join('\n'),
    );
    // Table, then the nodes are added (partx), awaited and verified.
    expect(p.steps.map((s) => s.kind)).toEqual(['exec', 'partitions']);
    const wait = p.steps[1] as Extract<StorageStep, { kind: 'partitions' }>;
    expect(wait.partitions[1]).toEqual({
      number: 2,
      node: '/dev/vda2',
      start512: 4096,
      size512: 204800,
    });
  });

  it('writes msdos with extended and logical partitions, boot flag bootable, explicit numbers kept', () => {
    const p = plan(
      [
        { id: 'd', type: 'disk', serial: 'disk-b', ptable: 'msdos' },
        { id: 'p1', type: 'partition', device: 'd', size: '1G', flag: 'boot' },
        { id: 'e', type: 'partition', device: 'd', size: '3G', flag: 'extended' },
        { id: 'l5', type: 'partition', device: 'd', size: '1G', flag: 'logical' },
        { id: 'l6', type: 'partition', device: 'd', size: '512M', flag: 'logical' },
        { id: 'p3', type: 'partition', device: 'd', size: '100M', flag: 'swap', number: 3 },
      ],
      {},
    );
    expect(execs(p).find((s) => s.argv[0] === 'sfdisk')?.input).toBe(
      [
        'label: dos',
        'unit: sectors',
        '',
        '/dev/vdb1 : start=2048, size=2097152, type=83, bootable',
        '/dev/vdb2 : start=2099200, size=6291456, type=5',
        '/dev/vdb5 : start=2101248, size=2097152, type=83',
        '/dev/vdb6 : start=4200448, size=1048576, type=83',
        '/dev/vdb3 : start=8390656, size=204800, type=82',
        '',
      ].join('\n'),
    );
    expect(p.volumes).toMatchObject({ l5: '/dev/vdb5', l6: '/dev/vdb6', p3: '/dev/vdb3' });
  });

  it('formats with forced mkfs and always a UUID (random when not given), labels and fat ids', () => {
    const p = plan([
      { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
      ...['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'fat32', 'swap'].flatMap((fs, i) => [
        { id: `p${i}`, type: 'partition', device: 'd', size: '100M' },
        {
          id: `f${i}`,
          type: 'format',
          volume: `p${i}`,
          fstype: fs,
          label: `l${i}`,
          ...(fs === 'ext4' ? { uuid: 'C0FFEE00-0000-4000-8000-000000000001' } : {}),
        },
      ]),
    ]);
    expect(argvs(p).filter((a) => /^mk/.test(a))).toEqual([
      'mkfs.ext2 -F -q -U 00000000-0000-4000-8000-000000000001 -L l0 /dev/vda1',
      'mkfs.ext3 -F -q -U 00000000-0000-4000-8000-000000000002 -L l1 /dev/vda2',
      'mkfs.ext4 -F -q -U c0ffee00-0000-4000-8000-000000000001 -L l2 /dev/vda3',
      'mkfs.xfs -f -q -m uuid=00000000-0000-4000-8000-000000000003 -L l3 /dev/vda4',
      'mkfs.btrfs -f -q -U 00000000-0000-4000-8000-000000000004 -L l4 /dev/vda5',
      'mkfs.vfat -i 00000000 -n l5 /dev/vda6',
      'mkfs.vfat -F 32 -i 00000000 -n l6 /dev/vda7',
      'mkswap -f -U 00000000-0000-4000-8000-000000000007 -L l7 /dev/vda8',
    ]);
  });

  it('mounts in path order whatever the list order, and writes fstab with swap last', () => {
    const p = plan([
      { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
      ...['a', 'b', 'c', 'e'].flatMap((x) => [
        { id: `p${x}`, type: 'partition', device: 'd', size: '100M' },
        { id: `f${x}`, type: 'format', volume: `p${x}`, fstype: x === 'e' ? 'swap' : 'ext4' },
      ]),
      { id: 'm-efi', type: 'mount', device: 'fa', path: '/boot/efi' },
      { id: 'm-swap', type: 'mount', device: 'fe', path: 'none' },
      { id: 'm-boot', type: 'mount', device: 'fb', path: '/boot', options: 'noatime' },
      { id: 'm-root', type: 'mount', device: 'fc', path: '/' },
    ]);
    expect(argvs(p).filter((a) => a.startsWith('mount'))).toEqual([
      'mount -t ext4 -o defaults /dev/vda3 /t',
      'mount -t ext4 -o noatime /dev/vda2 /t/boot',
      'mount -t ext4 -o defaults /dev/vda1 /t/boot/efi',
    ]);
    const fstab = p.steps.find((s) => s.kind === 'fstab');
    expect(fstab).toMatchObject({
      path: '/w/fstab',
      entries: [
        { device: '/dev/vda3', path: '/', fstype: 'ext4', options: 'defaults', passno: '1' },
        { device: '/dev/vda2', path: '/boot', options: 'noatime' },
        { device: '/dev/vda1', path: '/boot/efi' },
        { device: '/dev/vda4', path: 'none', fstype: 'swap', options: 'sw' },
      ],
    });
    expect(['/boot/efi', '/', '/home', '/boot'].sort(mountOrder)).toEqual([
      '/',
      '/boot',
      '/home',
      '/boot/efi',
    ]);
  });

  it('plans LVM: PVs, VG, sized volumes before the rest-of-VG one, LV nodes under /dev/mapper', () => {
    const p = plan([
      { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
      { id: 'p1', type: 'partition', device: 'd', size: '4G', flag: 'lvm' },
      { id: 'p2', type: 'partition', device: 'd', size: '4G', flag: 'lvm' },
      { id: 'vg', type: 'lvm_volgroup', name: 'my-vg', devices: ['p1', 'p2'] },
      { id: 'rest', type: 'lvm_partition', volgroup: 'vg', name: 'root' },
      { id: 'swap', type: 'lvm_partition', volgroup: 'vg', name: 'swap', size: '1G' },
      { id: 'f', type: 'format', volume: 'rest', fstype: 'ext4' },
    ]);
    expect(argvs(p).filter((a) => /^(pv|vg|lv)/.test(a))).toEqual([
      'pvcreate --force --force --yes /dev/vda1',
      'pvcreate --force --force --yes /dev/vda2',
      'vgcreate --yes my-vg /dev/vda1 /dev/vda2',
      `lvcreate --yes --wipesignatures y --zero y --name swap --size ${GiB}b my-vg`,
      'lvcreate --yes --wipesignatures y --zero y --name root --extents 100%FREE my-vg',
    ]);
    expect(p.volumes.rest).toBe('/dev/mapper/my--vg-root');
    expect(execs(p).find((s) => s.argv[0] === 'vgcreate')?.creates).toEqual({
      kind: 'vg',
      name: 'my-vg',
    });
  });

  it.each([
    [0, 2],
    [1, 2],
    [5, 3],
    [6, 4],
    [10, 4],
  ])('plans mdadm RAID %i over %i members with a spare', (level, members) => {
    const cfg: unknown[] = [{ id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' }];
    for (let i = 1; i <= members + 1; i++)
      cfg.push({ id: `r${i}`, type: 'partition', device: 'd', size: '1G', flag: 'raid' });
    cfg.push({
      id: 'md',
      type: 'raid',
      name: 'md0',
      raidlevel: level,
      devices: cfg.slice(1, members + 1).map((c) => (c as { id: string }).id),
      spare_devices: [`r${members + 1}`],
    });
    cfg.push({ id: 'f', type: 'format', volume: 'md', fstype: 'ext4' });
    const p = plan(cfg);
    const md = execs(p).find((s) => s.argv[0] === 'mdadm');
    const parts = Array.from({ length: members + 1 }, (_, i) => `/dev/vda${i + 1}`);
    expect(md?.argv).toEqual([
      'mdadm',
      '--create',
      '/dev/md0',
      '--run',
      '--force',
      '--metadata=1.2',
      `--level=${level}`,
      `--raid-devices=${members}`,
      '--spare-devices=1',
      ...parts,
    ]);
    expect(md?.creates).toEqual({ kind: 'md', node: '/dev/md0' });
    expect(argvs(p)).toContain(`mkfs.ext4 -F -q -U 00000000-0000-4000-8000-000000000001 /dev/md0`);
  });

  it('plans LUKS2 with the passphrase on stdin only, and a crypttab line by LUKS UUID', () => {
    const p = plan([
      { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
      { id: 'p1', type: 'partition', device: 'd', size: '1G' },
      { id: 'p2', type: 'partition', device: 'd', size: '1G' },
      { id: 'c1', type: 'dm_crypt', volume: 'p1', dm_name: 'cryptroot', key: 's3cret-pass' },
      {
        id: 'c2',
        type: 'dm_crypt',
        volume: 'p2',
        dm_name: 'cryptdata',
        keyfile: '/etc/data.key',
        uuid: '11111111-2222-4333-8444-555555555555',
      },
      { id: 'f', type: 'format', volume: 'c1', fstype: 'ext4' },
    ]);
    const luks = execs(p).filter((s) => s.argv[0] === 'cryptsetup');
    expect(luks.map((s) => s.argv.join(' '))).toEqual([
      'cryptsetup luksFormat --type luks2 --batch-mode --uuid 00000000-0000-4000-8000-000000000001 --key-file - /dev/vda1',
      'cryptsetup open --type luks2 --key-file - /dev/vda1 cryptroot',
      'cryptsetup luksFormat --type luks2 --batch-mode --uuid 11111111-2222-4333-8444-555555555555 --key-file /etc/data.key /dev/vda2',
      'cryptsetup open --type luks2 --key-file /etc/data.key /dev/vda2 cryptdata',
    ]);
    expect(luks[0]?.input).toBe('s3cret-pass');
    expect(JSON.stringify(execs(p).map((s) => s.argv))).not.toContain('s3cret');
    expect(p.steps.find((s) => s.kind === 'crypttab')).toEqual({
      kind: 'crypttab',
      path: '/w/crypttab',
      lines: [
        'cryptroot UUID=00000000-0000-4000-8000-000000000001 none luks',
        'cryptdata UUID=11111111-2222-4333-8444-555555555555 /etc/data.key luks',
      ],
      description: 'write crypttab to /w/crypttab',
    });
    expect(argvs(p)).toContain(
      'mkfs.ext4 -F -q -U 00000000-0000-4000-8000-000000000002 /dev/mapper/cryptroot',
    );
  });

  it('expands layout lvm to bios_grub + ESP + LVM root on the named disk', () => {
    n = 0;
    const p = planStorage(
      { layout: { name: 'lvm', disk: '/dev/vdb' } },
      { devices },
      { target: '/t', randomUuid: seq },
    );
    const sf = execs(p).find((s) => s.argv[0] === 'sfdisk');
    expect(sf?.input).toContain(
      '/dev/vdb1 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649',
    );
    expect(sf?.input).toContain(
      '/dev/vdb2 : start=4096, size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    );
    expect(sf?.input).toMatch(/\/dev\/vdb3 : start=1052672, size=\d+, type=E6D6D379/);
    expect(argvs(p)).toEqual(
      expect.arrayContaining([
        'vgcreate --yes vg0 /dev/vdb3',
        'lvcreate --yes --wipesignatures y --zero y --name root --extents 100%FREE vg0',
        'mount -t ext4 -o defaults /dev/mapper/vg0-root /t',
        'mount -t vfat -o defaults /dev/vdb2 /t/boot/efi',
      ]),
    );
    expect(argvs(p)[0]).toBe('wipefs --all --force --quiet /dev/vdb');
  });

  it('keeps a preserved table: no wipe, no sfdisk, only missing nodes added; preserved format verified', () => {
    const found = dev('vdd', 4 * GiB, {
      serial: 'disk-d',
      table: {
        label: 'gpt',
        partitions: [
          { number: 1, node: '/dev/vdd1', start: 4096, size: 1048576, type: 'x', bootable: false },
        ],
      },
    });
    n = 0;
    const p = planStorage(
      {
        version: 1,
        config: [
          {
            id: 'd',
            type: 'disk',
            serial: 'disk-d',
            ptable: 'gpt',
            preserve: true,
            wipe: 'superblock',
          },
          { id: 'p1', type: 'partition', device: 'd', number: 1, size: '512M', preserve: true },
          { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4', preserve: true },
        ],
      },
      { devices: [found] },
      { randomUuid: seq },
    );
    expect(p.steps).toEqual([
      expect.objectContaining({
        kind: 'partitions',
        addMissing: true,
        partitions: [{ number: 1, node: '/dev/vdd1', start512: 4096, size512: 1048576 }],
      }),
      expect.objectContaining({ kind: 'verify-format', device: '/dev/vdd1', fstype: 'ext4' }),
    ]);
  });

  it('has a command line for every wipe mode', () => {
    const kids = [{ node: '/dev/vda1', size: 4 * MiB }];
    const lines = (m: Parameters<typeof wipeSteps>[0]) =>
      wipeSteps(m, '/dev/vda', 8 * MiB, kids).map((s) =>
        s.kind === 'exec'
          ? s.argv.join(' ')
          : s.kind === 'zero'
            ? `zero ${s.device} ${s.offset}+${s.length}`
            : s.kind,
      );
    expect(lines('superblock')).toEqual([
      'wipefs --all --force --quiet /dev/vda',
      `zero /dev/vda 0+${MiB}`,
      `zero /dev/vda ${7 * MiB}+${MiB}`,
    ]);
    expect(lines('superblock-recursive')[0]).toBe('wipefs --all --force --quiet /dev/vda1');
    expect(lines('superblock-recursive')).toHaveLength(6);
    expect(lines('zero')).toEqual([
      'dd if=/dev/zero of=/dev/vda bs=4194304 count=8388608 iflag=count_bytes conv=notrunc,fsync status=none',
    ]);
    expect(lines('random')[0]).toContain('if=/dev/urandom');
    expect(lines('pvremove')[0]).toBe('pvremove --force --force --yes /dev/vda');
  });

  it('prepares several disks side by side, each disk in order, before RAID joins them', () => {
    const p = plan([
      { id: 'a', type: 'disk', serial: 'disk-b', ptable: 'gpt', wipe: 'superblock' },
      { id: 'a1', type: 'partition', device: 'a', size: '1G', flag: 'raid' },
      { id: 'b', type: 'disk', serial: 'disk-c', ptable: 'msdos' },
      { id: 'b1', type: 'partition', device: 'b', size: '1G', flag: 'raid' },
      { id: 'md', type: 'raid', name: 'md0', raidlevel: 1, devices: ['a1', 'b1'] },
    ]);
    const first = p.steps[0];
    expect(first?.kind).toBe('lanes');
    const lanes = first?.kind === 'lanes' ? first.lanes : [];
    expect(lanes.map((l) => l.map((s) => (s.kind === 'exec' ? s.argv[0] : s.kind)))).toEqual([
      ['wipefs', 'zero', 'zero', 'sfdisk', 'partitions'],
      ['sfdisk', 'partitions'],
    ]);
    expect(p.steps[1]).toMatchObject({
      kind: 'exec',
      argv: expect.arrayContaining(['mdadm', '/dev/vdb1', '/dev/vdc1']),
    });
  });

  it('refuses mounts without a target', () => {
    expect(() =>
      plan(
        [
          { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt' },
          { id: 'p', type: 'partition', device: 'd', size: '1G' },
          { id: 'f', type: 'format', volume: 'p', fstype: 'ext4' },
          { id: 'm', type: 'mount', device: 'f', path: '/' },
        ],
        {},
      ),
    ).toThrow(/action 'm': mounts need a target directory/);
  });
});
