import { describe, it, expect } from 'vitest';
import { validateStorage, StorageConfigError } from '../../src/storage/validate.js';

import { parseSize } from '../../src/storage/size.js';
import { dev, GiB, MiB } from '../fixtures/storage/devices.js';

const devices = [
  dev('vda', 10 * GiB, { serial: 'disk-a' }),
  dev('vdb', 4 * GiB, { serial: 'disk-b' }),
];

function problems(config: unknown[], devs = devices): string[] {
  try {
    validateStorage({ version: 1, config }, { devices: devs });
  } catch (e) {
    expect(e).toBeInstanceOf(StorageConfigError);
    return (e as StorageConfigError).problems.map((p) => `${p.where}: ${p.problem}`);
  }
  return [];
}

const disk = { id: 'sda', type: 'disk', serial: 'disk-a', ptable: 'gpt' };

describe('storage sizes', () => {
  it('parses curtin size strings in powers of 1024', () => {
    expect(parseSize('512M')).toBe(512 * MiB);
    expect(parseSize('8GB')).toBe(8 * GiB);
    expect(parseSize('5.5G')).toBe(5.5 * GiB);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('12 potatoes')).toBeUndefined();
    expect(parseSize('-1G')).toBeUndefined();
  });
});

describe('storage validation', () => {
  it('accepts a valid config and reports nothing', () => {
    expect(
      problems([
        disk,
        { id: 'p1', type: 'partition', device: 'sda', size: '1G' },
        { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
        { id: 'm1', type: 'mount', device: 'f1', path: '/' },
      ]),
    ).toEqual([]);
  });

  it('collects every problem, each naming its action id', () => {
    const got = problems([
      disk,
      { id: 'sda', type: 'disk', serial: 'disk-b' },
      { id: 'p1', type: 'partition', device: 'nope', size: '1G' },
      { id: 'x', type: 'frobnicate' },
      { id: 'p2', type: 'partition', device: 'sda', size: 'lots' },
      { id: 'f1', type: 'format', volume: 'ghost', fstype: 'ext4' },
      { id: 'f2', type: 'format', volume: 'sda', fstype: 'ext4', preserve: 'yes' },
    ]);
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^action 'sda': duplicate id/),
        expect.stringMatching(/^action 'p1': device refers to 'nope', which does not exist/),
        expect.stringMatching(/^action 'x': unknown type "frobnicate"/),
        expect.stringMatching(/^action 'p2': size must be a size/),
        expect.stringMatching(/^action 'f1': format on volume 'ghost', which does not exist/),
        expect.stringMatching(/^action 'f2': preserve must be true or false/),
      ]),
    );
    expect(got).toHaveLength(6);
  });

  it('rejects partitions that do not fit, computed with 1 MiB alignment and the GPT backup', () => {
    // 10 GiB disk: 1 MiB gap + 10239 MiB leaves less than the 33 sectors GPT needs at the end.
    const got = problems([disk, { id: 'p1', type: 'partition', device: 'sda', size: 10239 * MiB }]);
    expect(got).toEqual([
      expect.stringMatching(/^action 'p1': partition does not fit on disk 'sda' \(\/dev\/vda/),
    ]);
    expect(
      problems([disk, { id: 'p1', type: 'partition', device: 'sda', size: 10238 * MiB }]),
    ).toEqual([]);
    // msdos has no backup table: the same size fits.
    expect(
      problems([
        { ...disk, ptable: 'msdos' },
        { id: 'p1', type: 'partition', device: 'sda', size: 10239 * MiB },
      ]),
    ).toEqual([]);
  });

  it('rejects duplicate partition numbers and two mounts on one path', () => {
    const got = problems([
      disk,
      { id: 'p1', type: 'partition', device: 'sda', size: '1G', number: 1 },
      { id: 'p2', type: 'partition', device: 'sda', size: '1G', number: 1 },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
      { id: 'f2', type: 'format', volume: 'p2', fstype: 'xfs' },
      { id: 'm1', type: 'mount', device: 'f1', path: '/srv' },
      { id: 'm2', type: 'mount', device: 'f2', path: '/srv/' },
    ]);
    expect(got).toEqual([
      "action 'm2': path /srv is already mounted by 'm1'",
      "action 'p2': partition number 1 on disk 'sda' is already used by 'p1'",
    ]);
  });

  it('rejects a disk matching nothing or more than one device', () => {
    const twins = [dev('sda', GiB, { serial: 'same' }), dev('sdb', GiB, { serial: 'same' })];
    expect(problems([{ id: 'd', type: 'disk', serial: 'same' }], twins)).toEqual([
      "action 'd': disk (serial=same) matches 2 devices (/dev/sda, /dev/sdb); add serial or wwn",
    ]);
    expect(problems([{ id: 'd', type: 'disk', serial: 'missing' }])).toEqual([
      "action 'd': disk (serial=missing) matches no block device",
    ]);
    expect(problems([{ id: 'd', type: 'disk', ptable: 'gpt' }])).toEqual([
      "action 'd': disk names no device: give path, serial, wwn or device_id",
    ]);
  });

  it('matches disks by path, wwn and device_id, and refuses one device claimed twice', () => {
    const d = [dev('sdc', GiB, { wwn: '0x5000c500a1b2c3d4', deviceId: '0.0.1544' })];
    expect(problems([{ id: 'a', type: 'disk', wwn: '5000C500A1B2C3D4' }], d)).toEqual([]);
    expect(problems([{ id: 'a', type: 'disk', device_id: '0.0.1544' }], d)).toEqual([]);
    expect(
      problems(
        [
          { id: 'a', type: 'disk', path: '/dev/sdc' },
          { id: 'b', type: 'disk', device_id: '0.0.1544' },
        ],
        d,
      ),
    ).toEqual(["action 'b': disk /dev/sdc is also matched by 'a'"]);
  });

  it('checks msdos rules: extended/logical, bios_grub on gpt only, logical fits inside extended', () => {
    const msdos = { ...disk, ptable: 'msdos' };
    expect(
      problems([
        msdos,
        { id: 'p1', type: 'partition', device: 'sda', size: '1G' },
        { id: 'ext', type: 'partition', device: 'sda', size: '2G', flag: 'extended' },
        { id: 'l1', type: 'partition', device: 'sda', size: '1G', flag: 'logical' },
        { id: 'l2', type: 'partition', device: 'sda', size: '1G', flag: 'logical' },
      ]),
    ).toEqual([
      "action 'l2': logical partition (1GiB at 2051MiB) does not fit in extended partition 'ext'",
    ]);
    expect(
      problems([
        msdos,
        { id: 'b', type: 'partition', device: 'sda', size: '1M', flag: 'bios_grub' },
      ]),
    ).toEqual(["action 'b': flag bios_grub needs a gpt table, disk 'sda' is msdos"]);
    expect(
      problems([disk, { id: 'e', type: 'partition', device: 'sda', size: '1G', flag: 'extended' }]),
    ).toEqual(["action 'e': flag extended needs an msdos table, disk 'sda' is gpt"]);
  });

  it('rejects a volume used twice, too few raid members, two rest-of-VG volumes, missing crypt keys', () => {
    const got = problems([
      disk,
      { id: 'p1', type: 'partition', device: 'sda', size: '1G' },
      { id: 'p2', type: 'partition', device: 'sda', size: '1G' },
      { id: 'f1', type: 'format', volume: 'p1', fstype: 'ext4' },
      { id: 'f2', type: 'format', volume: 'p1', fstype: 'xfs' },
      { id: 'md', type: 'raid', name: 'md0', raidlevel: 5, devices: ['p2'] },
      { id: 'vg', type: 'lvm_volgroup', name: 'vg0', devices: ['sda'] },
      { id: 'lv1', type: 'lvm_partition', name: 'a', volgroup: 'vg' },
      { id: 'lv2', type: 'lvm_partition', name: 'b', volgroup: 'vg' },
      { id: 'c', type: 'dm_crypt', volume: 'lv1' },
    ]);
    expect(got).toEqual(
      expect.arrayContaining([
        "action 'f2': 'p1' is already used by 'f1'",
        "action 'md': raid level 5 needs at least 3 devices, got 1",
        "action 'lv2': 'lv1' already takes the rest of volume group 'vg'; give a size",
        "action 'c': dm_crypt needs key or keyfile",
      ]),
    );
  });

  it('checks preserve against the disk as found', () => {
    const found = dev('vda', 10 * GiB, {
      serial: 'disk-a',
      table: {
        label: 'gpt',
        partitions: [
          {
            number: 1,
            node: '/dev/vda1',
            start: 2048,
            size: 2048 * 512,
            type: 'x',
            bootable: false,
          },
        ],
      },
    });
    const base = { ...disk, preserve: true };
    expect(
      problems(
        [
          base,
          { id: 'p1', type: 'partition', device: 'sda', number: 1, size: '512M', preserve: true },
        ],
        [found],
      ),
    ).toEqual([]);
    expect(
      problems(
        [
          base,
          { id: 'p1', type: 'partition', device: 'sda', number: 1, size: '1G', preserve: true },
        ],
        [found],
      ),
    ).toEqual(["action 'p1': preserve: partition 1 on /dev/vda is 512MiB, config says 1GiB"]);
    expect(
      problems(
        [base, { id: 'p2', type: 'partition', device: 'sda', number: 2, preserve: true }],
        [found],
      ),
    ).toEqual(["action 'p2': preserve: partition 2 does not exist on /dev/vda"]);
    expect(problems([{ ...base, ptable: 'msdos' }], [found])).toEqual([
      "action 'sda': preserve: /dev/vda has a gpt table, config says msdos",
    ]);
  });

  it('refuses to write to a disk that is mounted', () => {
    const busy = [dev('vda', GiB, { serial: 'disk-a', mountpoints: ['/srv'] })];
    expect(problems([{ ...disk, wipe: 'superblock' }], busy)).toEqual([
      "action 'sda': /dev/vda is in use (mounted at /srv)",
    ]);
  });

  it('requires storage.version 1 and a list', () => {
    expect(() => validateStorage({ version: 2, config: [] }, { devices })).toThrow(
      /storage.version: must be 1/,
    );
    expect(() => validateStorage({ version: 1, config: {} }, { devices })).toThrow(
      /storage.config: must be a list/,
    );
  });

  it('layout needs a named disk', () => {
    expect(() => validateStorage({ layout: { name: 'lvm' } }, { devices })).toThrow(
      /storage.layout.disk: no disk named.*never guesses which disk to wipe/,
    );
    expect(() =>
      validateStorage({ layout: { name: 'zfs', disk: '/dev/vda' } }, { devices }),
    ).toThrow(/storage.layout.name: must be one of simple, lvm/);
  });
});

describe('checkStorage', () => {
  it('validates and plans without running anything', async () => {
    const { checkStorage } = await import('../../src/storage/index.js');
    const { Runner } = await import('../../src/runner/runner.js');
    const runner = new Runner();
    const config = {
      storage: {
        version: 1,
        config: [
          { id: 'd', type: 'disk', serial: 'disk-a', ptable: 'gpt', wipe: 'superblock' },
          { id: 'p', type: 'partition', device: 'd', size: '1G' },
        ],
      },
    };
    const plan = await checkStorage({ runner, config, devices });
    expect(plan.volumes).toEqual({ d: '/dev/vda', p: '/dev/vda1' });
    expect(runner.plan).toEqual([]);
    const bad = {
      storage: { version: 1, config: [{ id: 'p', type: 'partition', device: 'x', size: '1G' }] },
    };
    await expect(checkStorage({ runner, config: bad, devices })).rejects.toThrow(
      "action 'p': device refers to 'x', which does not exist",
    );
  });
});
