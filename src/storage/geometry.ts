// Where each partition of a disk goes, computed the way curtin's storage v1 does it:
// partition 1 starts at 1 MiB and each next one right after the previous one (aligned up
// to 1 MiB); an msdos logical partition starts 1 MiB into the extended partition or 1 MiB
// after the previous logical one, leaving room for its EBR. Pure: the validator uses it
// to reject layouts that do not fit, the planner to write the sfdisk script.
import type { Problem } from './schema.js';
import { formatBytes } from './size.js';
import type {
  BlockDevice,
  DiskAction,
  PartitionAction,
  PartitionFlag,
  PartitionTable,
} from './types.js';

export const MiB = 1024 * 1024;

export interface PlacedPartition {
  id: string;
  number: number;
  /** In logical sectors of the disk. */
  start: number;
  size: number;
  type: string;
  bootable: boolean;
  kind: 'primary' | 'extended' | 'logical';
  preserve: boolean;
  uuid?: string;
  name?: string;
}

// sfdisk type codes per flag. `boot` on gpt is the ESP, as in curtin.
const GPT_TYPES: Record<PartitionFlag | 'default', string> = {
  boot: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  bios_grub: '21686148-6449-6E6F-744E-656564454649',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  lvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  raid: 'A19D880F-05FC-4D3B-A006-743F0F84911E',
  prep: '9E1A2D38-C612-4316-AA26-8B49521E5A8B',
  home: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  default: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  extended: '',
  logical: '',
};
const MSDOS_TYPES: Record<PartitionFlag | 'default', string> = {
  boot: '83',
  esp: 'ef',
  bios_grub: '',
  swap: '82',
  lvm: '8e',
  raid: 'fd',
  prep: '41',
  home: '83',
  linux: '83',
  default: '83',
  extended: '5',
  logical: '83',
};

export function partitionType(table: PartitionTable, flag: PartitionFlag | undefined): string {
  return (table === 'gpt' ? GPT_TYPES : MSDOS_TYPES)[flag ?? 'default'];
}

/** /dev/sda + 1 = /dev/sda1; /dev/loop0, /dev/nvme0n1, /dev/md0 (ends in a digit) get a `p`. */
export function partitionNode(diskPath: string, n: number): string {
  return /\d$/.test(diskPath) ? `${diskPath}p${n}` : `${diskPath}${n}`;
}

/** Last sector a partition may use: GPT keeps its backup header and entries at the end. */
export function lastUsableSector(
  table: PartitionTable,
  totalSectors: number,
  sectorSize: number,
): number {
  return table === 'gpt' ? totalSectors - 2 - Math.ceil(16384 / sectorSize) : totalSectors - 1;
}

function alignUp(sector: number, align: number): number {
  return Math.ceil(sector / align) * align;
}

/**
 * Places the partitions of one disk. `table` is the table they go into (the disk's
 * ptable, or the existing one for a preserved disk). Preserved partitions keep the
 * start and size found on the disk.
 */
export function placePartitions(
  disk: DiskAction,
  table: PartitionTable,
  parts: PartitionAction[],
  device: BlockDevice,
  problems: Problem[],
): PlacedPartition[] {
  const ss = device.logicalSectorSize;
  const align = MiB / ss;
  const total = Math.floor(device.sizeBytes / ss);
  const last = lastUsableSector(table, total, ss);
  const placed: PlacedPartition[] = [];
  const used = new Map<number, string>();
  let extended: PlacedPartition | undefined;
  let prev: PlacedPartition | undefined;
  let nextLogical = 5;
  for (const p of parts) {
    const where = `action '${p.id}'`;
    const isExt = p.flag === 'extended';
    const isLogical = p.flag === 'logical';
    if (table === 'gpt' && (isExt || isLogical)) {
      problems.push({
        where,
        problem: `flag ${p.flag} needs an msdos table, disk '${disk.id}' is gpt`,
      });
      continue;
    }
    if (table === 'msdos' && p.flag === 'bios_grub') {
      problems.push({
        where,
        problem: `flag bios_grub needs a gpt table, disk '${disk.id}' is msdos`,
      });
      continue;
    }
    if (isLogical && !extended) {
      problems.push({
        where,
        problem: `logical partition before any extended partition on disk '${disk.id}'`,
      });
      continue;
    }
    // Number: given, or the next free one (logical ones count from 5).
    let number = p.number;
    if (number === undefined) {
      if (isLogical) number = nextLogical;
      else {
        number = 1;
        while (used.has(number)) number++;
      }
    }
    if (isLogical) nextLogical = Math.max(nextLogical, number) + 1;
    if (table === 'msdos' && !isLogical && number > 4) {
      problems.push({
        where,
        problem: `primary/extended partition number ${number} on msdos must be 1-4`,
      });
      continue;
    }
    if (table === 'msdos' && isLogical && number < 5) {
      problems.push({ where, problem: `logical partition number ${number} must be 5 or more` });
      continue;
    }
    const clash = used.get(number);
    if (clash) {
      problems.push({
        where,
        problem: `partition number ${number} on disk '${disk.id}' is already used by '${clash}'`,
      });
      continue;
    }
    used.set(number, p.id);

    let start: number;
    let size: number;
    const existing = device.table?.partitions.find((e) => e.number === number);
    if (p.preserve) {
      if (!existing) {
        problems.push({
          where,
          problem: `preserve: partition ${number} does not exist on ${device.path}`,
        });
        continue;
      }
      start = existing.start;
      size = existing.size;
      if (p.size !== undefined && Math.abs(p.size - size * ss) >= MiB) {
        problems.push({
          where,
          problem: `preserve: partition ${number} on ${device.path} is ${formatBytes(size * ss)}, config says ${formatBytes(p.size)}`,
        });
      }
      if (p.offset !== undefined && p.offset !== start * ss) {
        problems.push({
          where,
          problem: `preserve: partition ${number} on ${device.path} starts at ${start * ss} bytes, config says offset ${p.offset}`,
        });
      }
    } else {
      size = Math.floor((p.size ?? 0) / ss);
      if (p.offset !== undefined) start = Math.floor(p.offset / ss);
      else if (!prev) start = align;
      else if (isLogical && prev.kind === 'extended') start = prev.start + align;
      else if (isLogical) start = alignUp(prev.start + prev.size + 1, align);
      else if (prev.kind === 'logical' && extended)
        start = alignUp(extended.start + extended.size, align);
      else start = alignUp(prev.start + prev.size, align);
    }
    const kind: PlacedPartition['kind'] = isExt ? 'extended' : isLogical ? 'logical' : 'primary';
    const me: PlacedPartition = {
      id: p.id,
      number,
      start,
      size,
      type: existing && p.preserve ? existing.type : partitionType(table, p.flag),
      bootable: table === 'msdos' && p.flag === 'boot',
      kind,
      preserve: p.preserve,
      uuid: p.uuid,
      name: p.name,
    };
    const end = start + size - 1;
    if (
      isLogical &&
      extended &&
      (start <= extended.start || end > extended.start + extended.size - 1)
    ) {
      problems.push({
        where,
        problem: `logical partition (${formatBytes(size * ss)} at ${formatBytes(start * ss)}) does not fit in extended partition '${extended.id}'`,
      });
    } else if (end > last) {
      const avail = Math.max(0, last - start + 1) * ss;
      problems.push({
        where,
        problem: `partition does not fit on disk '${disk.id}' (${device.path}, ${formatBytes(device.sizeBytes)}): needs ${formatBytes(size * ss)} at ${formatBytes(start * ss)}, ${formatBytes(avail)} left`,
      });
    }
    for (const o of placed) {
      // A logical partition lies inside its extended partition by design.
      if (
        (o.kind === 'extended' && kind === 'logical') ||
        (o.kind === 'logical') !== (kind === 'logical')
      )
        continue;
      if (start <= o.start + o.size - 1 && o.start <= end) {
        problems.push({
          where,
          problem: `partition overlaps partition '${o.id}' on disk '${disk.id}'`,
        });
      }
    }
    if (isExt) {
      if (extended)
        problems.push({ where, problem: `second extended partition on disk '${disk.id}'` });
      extended = me;
    }
    placed.push(me);
    prev = me;
  }
  return placed;
}
