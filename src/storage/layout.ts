// The plain-case shortcut `storage: {layout: {name: simple|lvm, disk: DEVICE}}`.
// Expands to ordinary v1 actions on one gpt disk: a 1 MiB bios_grub partition and a
// 512 MiB ESP so the disk boots with either firmware, then the root filesystem on the
// rest of the disk (`simple`) or on an LVM volume filling a volume group (`lvm`).
// The disk must be named: pxm never guesses which disk to wipe.
import type { Problem } from './schema.js';
import { MiB } from './geometry.js';

export const LAYOUT_NAMES = ['simple', 'lvm'] as const;

export interface LayoutRequest {
  name: string;
  disk?: string;
}

/**
 * Raw v1 actions for a layout. `diskSize` is the named device's size in bytes (the root
 * partition takes what is left after the boot partitions and the GPT backup).
 */
export function expandLayout(
  layout: unknown,
  diskSize: (path: string) => number | undefined,
  problems: Problem[],
): unknown[] | undefined {
  const where = 'storage.layout';
  if (typeof layout !== 'object' || layout === null || Array.isArray(layout)) {
    problems.push({ where, problem: 'must be a mapping {name: simple|lvm, disk: /dev/...}' });
    return undefined;
  }
  const { name, disk } = layout as Record<string, unknown>;
  if (typeof name !== 'string' || !(LAYOUT_NAMES as readonly string[]).includes(name)) {
    problems.push({
      where: `${where}.name`,
      problem: `must be one of ${LAYOUT_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
    });
    return undefined;
  }
  if (typeof disk !== 'string' || disk === '') {
    problems.push({
      where: `${where}.disk`,
      problem:
        'no disk named: give the device to install on (e.g. disk: /dev/vda); pxm never guesses which disk to wipe',
    });
    return undefined;
  }
  const size = diskSize(disk);
  if (size === undefined) {
    problems.push({ where: `${where}.disk`, problem: `${disk} matches no block device` });
    return undefined;
  }
  // 1 MiB gap + bios_grub 1 MiB + ESP 512 MiB; the GPT backup needs the last MiB.
  const rootBytes = Math.floor(size / MiB) * MiB - (1 + 1 + 512 + 1) * MiB;
  if (rootBytes < 512 * MiB) {
    problems.push({
      where: `${where}.disk`,
      problem: `${disk} is too small for layout ${name} (needs at least 1027 MiB)`,
    });
    return undefined;
  }
  const head = [
    {
      id: 'disk-0',
      type: 'disk',
      path: disk,
      ptable: 'gpt',
      wipe: 'superblock',
      grub_device: true,
    },
    {
      id: 'partition-bios',
      type: 'partition',
      device: 'disk-0',
      size: MiB,
      flag: 'bios_grub',
      number: 1,
    },
    {
      id: 'partition-esp',
      type: 'partition',
      device: 'disk-0',
      size: 512 * MiB,
      flag: 'boot',
      number: 2,
    },
    {
      id: 'partition-root',
      type: 'partition',
      device: 'disk-0',
      size: rootBytes,
      number: 3,
      ...(name === 'lvm' ? { flag: 'lvm' } : {}),
    },
    { id: 'format-esp', type: 'format', volume: 'partition-esp', fstype: 'fat32', label: 'ESP' },
  ];
  const root =
    name === 'lvm'
      ? [
          { id: 'vg-0', type: 'lvm_volgroup', name: 'vg0', devices: ['partition-root'] },
          { id: 'lv-root', type: 'lvm_partition', volgroup: 'vg-0', name: 'root' },
          { id: 'format-root', type: 'format', volume: 'lv-root', fstype: 'ext4', label: 'root' },
        ]
      : [
          {
            id: 'format-root',
            type: 'format',
            volume: 'partition-root',
            fstype: 'ext4',
            label: 'root',
          },
        ];
  return [
    ...head,
    ...root,
    { id: 'mount-root', type: 'mount', device: 'format-root', path: '/' },
    { id: 'mount-esp', type: 'mount', device: 'format-esp', path: '/boot/efi' },
  ];
}
