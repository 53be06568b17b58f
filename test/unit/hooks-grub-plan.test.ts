// The bootloader planner: which grub platforms and packages, which grub-install runs, for
// bios, uefi and both; curtin/MAAS-style configs (install_devices, grub_device on disks
// and partitions); bad configs refused naming the key.
import { describe, expect, it } from 'vitest';
import {
  grubPackages,
  parseGrubConfig,
  planGrubInstall,
  type GrubIntent,
} from '../../src/hooks/grub-plan.js';
import { ValidationError } from '../../src/util/errors.js';

/** gpt disk (found by serial) with bios_grub + ESP + root, as the hybrid boot test uses. */
function hybrid(extra: Record<string, unknown>[] = [], drop: string[] = []) {
  const config = [
    { id: 'disk0', type: 'disk', serial: 'disk-a', ptable: 'gpt', grub_device: true },
    { id: 'bios', type: 'partition', device: 'disk0', number: 1, size: '1M', flag: 'bios_grub' },
    { id: 'esp', type: 'partition', device: 'disk0', number: 2, size: '128M', flag: 'boot' },
    { id: 'root', type: 'partition', device: 'disk0', number: 3, size: '2G' },
    { id: 'fs-esp', type: 'format', volume: 'esp', fstype: 'fat32' },
    { id: 'fs-root', type: 'format', volume: 'root', fstype: 'ext4' },
    { id: 'm-root', type: 'mount', device: 'fs-root', path: '/' },
    { id: 'm-esp', type: 'mount', device: 'fs-esp', path: '/boot/efi' },
    ...extra,
  ].filter((a) => !drop.includes(a.id as string));
  return { version: 1, config };
}

const EFI = ['grub-install', '--target=x86_64-efi', '--efi-directory=/boot/efi'];
const found = { diskPaths: { disk0: '/dev/vda' }, espMounted: true };

function refused(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('not refused');
}

describe('grub plan: firmware both', () => {
  const intent = parseGrubConfig({ grub: { firmware: 'both' }, storage: hybrid() }, 'bios');

  it('installs i386-pc on the grub_device disk found at run time, then x86_64-efi to the ESP', () => {
    expect(intent.firmware).toBe('both');
    expect(intent.biosDevices).toEqual([{ diskId: 'disk0', where: 'storage/config[0]' }]);
    expect(planGrubInstall(intent, found)).toEqual([
      ['grub-install', '--target=i386-pc', '--recheck', '/dev/vda'],
      [...EFI, '--bootloader-id=debian', '--no-nvram'],
      [...EFI, '--removable', '--no-nvram'],
      ['update-grub'],
    ]);
  });

  it('adds the platform modules the target lacks (grub-pc and grub-efi-amd64 conflict)', () => {
    expect(
      grubPackages(intent, { grubInstall: true, platforms: ['i386-pc', 'x86_64-efi'] }),
    ).toEqual([]);
    expect(grubPackages(intent, { grubInstall: true, platforms: ['i386-pc'] })).toEqual([
      'grub-efi-amd64-bin',
    ]);
    expect(grubPackages(intent, { grubInstall: false, platforms: [] })).toEqual([
      'grub-pc',
      'grub-efi-amd64-bin',
    ]);
  });

  it('refuses a gpt grub disk without bios_grub, naming the disk entry', () => {
    const e = refused(() =>
      parseGrubConfig({ grub: { firmware: 'both' }, storage: hybrid([], ['bios']) }),
    );
    expect(e.where).toBe('storage/config[0]');
    expect(e.message).toMatch(/bios_grub/);
  });

  it('refuses a layout without an ESP at /boot/efi, naming grub/firmware', () => {
    const e = refused(() =>
      parseGrubConfig({ grub: { firmware: 'both' }, storage: hybrid([], ['m-esp']) }),
    );
    expect(e.where).toBe('grub/firmware');
    expect(e.message).toMatch(/\/boot\/efi/);
  });

  it('refuses /boot/efi on a partition that is not an ESP, naming the mount entry', () => {
    const wrong = { id: 'm-esp2', type: 'mount', device: 'fs-root', path: '/boot/efi' };
    const storage = hybrid([wrong], ['m-esp']);
    const e = refused(() => parseGrubConfig({ grub: { firmware: 'both' }, storage }));
    expect(e.where).toBe('storage/config[7]');
  });

  it('refuses both without any BIOS disk, naming grub/install_devices', () => {
    expect(
      refused(() =>
        parseGrubConfig({ grub: { firmware: 'both', install_devices: null }, storage: hybrid() }),
      ).where,
    ).toBe('grub/install_devices');
  });

  it('refuses at run time a grub disk that matches no device, or an unmounted ESP', () => {
    expect(refused(() => planGrubInstall(intent, { diskPaths: {} })).where).toBe(
      'storage/config[0]',
    );
    expect(refused(() => planGrubInstall(intent, { ...found, espMounted: false })).where).toBe(
      'grub/firmware',
    );
  });
});

describe('grub plan: bios and uefi', () => {
  it('bios: grub_device disks by default, install_devices when given (string or list)', () => {
    const storage = {
      version: 1,
      config: [
        { type: 'disk', id: 'd1', path: '/dev/vda', ptable: 'msdos', grub_device: true },
        { type: 'disk', id: 'd2', path: '/dev/vdb' },
      ],
    };
    const intent = parseGrubConfig({ storage }, 'bios');
    expect(intent.firmware).toBe('bios');
    expect(planGrubInstall(intent, { diskPaths: { d1: '/dev/vda' } })).toEqual([
      ['grub-install', '--target=i386-pc', '--recheck', '/dev/vda'],
      ['update-grub'],
    ]);
    const listed = parseGrubConfig({ storage, grub: { install_devices: '/dev/sdz' } }, 'bios');
    expect(listed.biosDevices).toEqual([{ path: '/dev/sdz' }]);
    expect(
      planGrubInstall(listed, { diskPaths: {}, realpaths: { '/dev/sdz': '/dev/sdz' } })[0],
    ).toEqual(['grub-install', '--target=i386-pc', '--recheck', '/dev/sdz']);
    expect(grubPackages(intent, { grubInstall: false, platforms: [] })).toEqual(['grub-pc']);
  });

  it('bios: install_devices null means grub.cfg only', () => {
    const intent = parseGrubConfig({ grub: { install_devices: null } }, 'bios');
    expect(planGrubInstall(intent, { diskPaths: {} })).toEqual([['update-grub']]);
  });

  it('uefi: the ESP only; NVRAM entry only when asked and the installer booted with UEFI', () => {
    const intent = parseGrubConfig({ grub: { update_nvram: true }, storage: hybrid() }, 'uefi');
    expect(intent.firmware).toBe('uefi');
    expect(planGrubInstall(intent, found)).toEqual([
      [...EFI, '--bootloader-id=debian'],
      [...EFI, '--removable', '--no-nvram'],
      ['update-grub'],
    ]);
    expect(grubPackages(intent, { grubInstall: false, platforms: [] })).toEqual(['grub-efi-amd64']);
    expect(
      refused(() => parseGrubConfig({ grub: { firmware: 'uefi', update_nvram: true } }, 'bios'))
        .where,
    ).toBe('grub/update_nvram');
  });

  it('firmware defaults to what the installer booted with; unknown, storage checks wait', () => {
    const noEsp = { grub: {}, storage: hybrid([], ['m-esp']) };
    expect(parseGrubConfig(noEsp, 'bios').firmware).toBe('bios');
    expect(refused(() => parseGrubConfig(noEsp, 'uefi')).where).toBe('grub/firmware');
    expect(() => parseGrubConfig(noEsp)).not.toThrow();
  });
});

describe('grub plan: MAAS-style storage', () => {
  it('grub_device on a partition means its disk; several disks (RAID1 boot) each get grub', () => {
    const storage = {
      version: 1,
      config: [
        { id: 'sda', type: 'disk', serial: 'QM0001', ptable: 'gpt', model: 'QEMU HARDDISK' },
        { id: 'sda-bios', type: 'partition', device: 'sda', size: 1048576, flag: 'bios_grub' },
        { id: 'sda-part1', type: 'partition', device: 'sda', size: '8G', grub_device: true },
        { id: 'sdb', type: 'disk', wwn: '0x5000c500', ptable: 'msdos', grub_device: 1 },
        { id: 'sdb-part1', type: 'partition', device: 'sdb', size: '8G', grub_device: true },
      ],
    };
    const intent: GrubIntent = parseGrubConfig({ storage }, 'bios');
    expect(intent.biosDevices).toEqual([
      { diskId: 'sda', where: 'storage/config[0]' },
      { diskId: 'sdb', where: 'storage/config[3]' },
    ]);
    expect(
      planGrubInstall(intent, { diskPaths: { sda: '/dev/sda', sdb: '/dev/sdb' } }).map((c) =>
        c.at(-1),
      ),
    ).toEqual(['/dev/sda', '/dev/sdb', 'update-grub']);
  });

  it('grub_device on something that is not a disk or a disk partition is refused', () => {
    const storage = {
      version: 1,
      config: [
        { id: 'vg', type: 'lvm_volgroup', name: 'vg0', devices: [] },
        { id: 'lv', type: 'lvm_partition', volgroup: 'vg', name: 'root', grub_device: true },
      ],
    };
    expect(refused(() => parseGrubConfig({ storage }, 'bios')).where).toBe('storage/config[1]');
  });

  it('bad grub keys name the key', () => {
    expect(refused(() => parseGrubConfig({ grub: { firmware: 'coreboot' } })).where).toBe(
      'grub/firmware',
    );
    expect(refused(() => parseGrubConfig({ grub: { install_devices: ['sda'] } })).where).toBe(
      'grub/install_devices',
    );
    expect(refused(() => parseGrubConfig({ grub: { removable: 'yes' } })).where).toBe(
      'grub/removable',
    );
    expect(refused(() => parseGrubConfig({ grub: 'pc' })).where).toBe('grub');
  });
});
