// Checks a whole storage config against the discovered devices before anything is
// touched, and collects every problem (not just the first): the user fixes the config
// once. Each problem names the action id (or key path) and what is wrong.
import { ValidationError } from '../util/errors.js';
import { expandLayout } from './layout.js';
import { placePartitions, type PlacedPartition } from './geometry.js';
import { parseActions, type Problem } from './schema.js';
import type {
  ActionType,
  BlockDevice,
  DiskAction,
  FormatAction,
  PartitionAction,
  PartitionTable,
  StorageAction,
} from './types.js';

/** Every problem of a storage config; exit status 2 (nothing was changed). */
export class StorageConfigError extends ValidationError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    const lines = problems.map((p) => `  ${p.where}: ${p.problem}`).join('\n');
    super(
      'storage config',
      `${problems.length} problem${problems.length === 1 ? '' : 's'}, no disk was touched:\n${lines}`,
    );
    this.name = 'StorageConfigError';
    this.problems = problems;
  }
}

export interface StorageFacts {
  devices: BlockDevice[];
  /** Symlinks resolved for disk `path`s (e.g. /dev/disk/by-id/X -> /dev/sda). */
  realpaths?: Record<string, string>;
}

export interface ValidDisk {
  action: DiskAction;
  device: BlockDevice;
  /** The table partitions go into (new ptable, or the existing one when preserved). */
  table?: PartitionTable;
  partitions: PlacedPartition[];
}

export interface ValidStorage {
  actions: StorageAction[];
  byId: Map<string, StorageAction>;
  disks: ValidDisk[];
}

/** Which action types each reference may point at. */
const VOLUME_TYPES: ActionType[] = ['disk', 'partition', 'lvm_partition', 'raid', 'dm_crypt'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function norm(s: string): string {
  return s.trim().replace(/\s+/g, '_').toLowerCase();
}

export function matchesDisk(
  d: DiskAction,
  dev: BlockDevice,
  realpaths: Record<string, string>,
): boolean {
  if (d.path !== undefined) {
    const p = realpaths[d.path] ?? d.path;
    if (p !== dev.path && p !== `/dev/${dev.name}`) return false;
  }
  if (d.serial !== undefined && (dev.serial === undefined || norm(d.serial) !== norm(dev.serial)))
    return false;
  if (d.wwn !== undefined) {
    const w = (s: string) => s.toLowerCase().replace(/^0x/, '');
    if (dev.wwn === undefined || w(d.wwn) !== w(dev.wwn)) return false;
  }
  if (d.device_id !== undefined && d.device_id !== dev.deviceId) return false;
  return true;
}

function describeMatch(d: DiskAction): string {
  return (['path', 'serial', 'wwn', 'device_id'] as const)
    .filter((k) => d[k] !== undefined)
    .map((k) => `${k}=${d[k]}`)
    .join(', ');
}

/** Validates `storage` (the value of the config's `storage:` key). Throws StorageConfigError. */
export function validateStorage(storage: unknown, facts: StorageFacts): ValidStorage {
  const problems: Problem[] = [];
  const realpaths = facts.realpaths ?? {};
  const rawActions = rawActionList(storage, facts, problems);
  const { actions, problems: parseProblems } = parseActions(rawActions ?? []);
  if (rawActions === undefined) throw new StorageConfigError(problems);
  problems.push(...parseProblems);

  const byId = new Map(actions.map((a) => [a.id, a]));
  // Ids that failed to parse still exist: do not report references to them as missing.
  const knownIds = new Set(
    (rawActions as unknown[]).flatMap((r) =>
      isRecord(r) && typeof r.id === 'string' ? [r.id] : [],
    ),
  );

  const ref = (
    from: StorageAction,
    field: string,
    id: string,
    allowed: ActionType[],
  ): StorageAction | undefined => {
    const target = byId.get(id);
    if (!target) {
      if (!knownIds.has(id))
        problems.push({
          where: `action '${from.id}'`,
          problem: `${field} refers to '${id}', which does not exist`,
        });
      return undefined;
    }
    if (!allowed.includes(target.type)) {
      problems.push({
        where: `action '${from.id}'`,
        problem: `${field} refers to '${id}', a ${target.type} (must be ${allowed.join(' or ')})`,
      });
      return undefined;
    }
    return target;
  };

  // Each volume may be consumed once (one format, one VG member, one RAID member, ...).
  const consumedBy = new Map<string, string>();
  const consume = (user: StorageAction, vol: StorageAction | undefined) => {
    if (!vol) return;
    const prior = consumedBy.get(vol.id);
    if (prior)
      problems.push({
        where: `action '${user.id}'`,
        problem: `'${vol.id}' is already used by '${prior}'`,
      });
    else consumedBy.set(vol.id, user.id);
  };

  const mountPaths = new Map<string, string>();
  const partsByDisk = new Map<string, PartitionAction[]>();
  for (const a of actions) {
    const where = `action '${a.id}'`;
    switch (a.type) {
      case 'partition': {
        const disk = ref(a, 'device', a.device, ['disk']);
        if (disk) partsByDisk.set(disk.id, [...(partsByDisk.get(disk.id) ?? []), a]);
        break;
      }
      case 'format': {
        const vol = byId.get(a.volume);
        if (!vol && !knownIds.has(a.volume)) {
          problems.push({ where, problem: `format on volume '${a.volume}', which does not exist` });
        } else consume(a, ref(a, 'volume', a.volume, VOLUME_TYPES));
        checkFormat(a, problems);
        break;
      }
      case 'mount': {
        const fmt =
          a.device !== undefined
            ? (ref(a, 'device', a.device, ['format']) as FormatAction | undefined)
            : undefined;
        if (a.device === undefined && a.spec === undefined)
          problems.push({ where, problem: 'mount needs device (a format id) or spec' });
        const isSwap = fmt?.fstype === 'swap' || a.fstype === 'swap';
        if (isSwap) break;
        if (a.path === undefined || a.path === 'none') {
          problems.push({ where, problem: 'mount needs path (only swap may have none)' });
          break;
        }
        if (!a.path.startsWith('/') || a.path.split('/').includes('..')) {
          problems.push({
            where,
            problem: `path ${JSON.stringify(a.path)} must be absolute, without ..`,
          });
          break;
        }
        const p = a.path.replace(/\/+$/, '') || '/';
        const other = mountPaths.get(p);
        if (other) problems.push({ where, problem: `path ${p} is already mounted by '${other}'` });
        else mountPaths.set(p, a.id);
        break;
      }
      case 'lvm_volgroup':
        if (a.devices.length === 0)
          problems.push({ where, problem: 'lvm_volgroup needs at least one device' });
        for (const d of a.devices)
          consume(a, ref(a, 'devices', d, ['disk', 'partition', 'raid', 'dm_crypt']));
        break;
      case 'lvm_partition':
        ref(a, 'volgroup', a.volgroup, ['lvm_volgroup']);
        break;
      case 'raid': {
        const min: Record<number, number> = { 0: 2, 1: 2, 4: 3, 5: 3, 6: 4, 10: 2 };
        const need = min[a.raidlevel] ?? 2;
        if (a.devices.length < need) {
          problems.push({
            where,
            problem: `raid level ${a.raidlevel} needs at least ${need} devices, got ${a.devices.length}`,
          });
        }
        for (const d of [...a.devices, ...a.spare_devices])
          consume(a, ref(a, 'devices', d, ['disk', 'partition']));
        break;
      }
      case 'dm_crypt':
        consume(a, ref(a, 'volume', a.volume, ['disk', 'partition', 'raid', 'lvm_partition']));
        break;
      case 'disk':
        break;
    }
  }
  checkLvm(actions, problems);

  // Disks: each matches exactly one device, and no device twice.
  const disks: ValidDisk[] = [];
  const claimed = new Map<string, string>();
  for (const a of actions) {
    if (a.type !== 'disk') continue;
    const where = `action '${a.id}'`;
    if ([a.path, a.serial, a.wwn, a.device_id].every((k) => k === undefined)) {
      problems.push({
        where,
        problem: 'disk names no device: give path, serial, wwn or device_id',
      });
      continue;
    }
    const found = facts.devices.filter((d) => matchesDisk(a, d, realpaths));
    if (found.length === 0) {
      problems.push({ where, problem: `disk (${describeMatch(a)}) matches no block device` });
      continue;
    }
    if (found.length > 1) {
      problems.push({
        where,
        problem: `disk (${describeMatch(a)}) matches ${found.length} devices (${found.map((d) => d.path).join(', ')}); add serial or wwn`,
      });
      continue;
    }
    const device = found[0] as BlockDevice;
    const other = claimed.get(device.path);
    if (other) {
      problems.push({ where, problem: `disk ${device.path} is also matched by '${other}'` });
      continue;
    }
    claimed.set(device.path, a.id);
    const parts = partsByDisk.get(a.id) ?? [];
    const willWrite = !a.preserve && (a.wipe !== undefined || a.ptable !== undefined);
    if (willWrite && device.mountpoints.length > 0) {
      problems.push({
        where,
        problem: `${device.path} is in use (mounted at ${device.mountpoints.join(', ')})`,
      });
    }
    let table: PartitionTable | undefined = a.ptable;
    if (a.preserve) {
      if (!device.table && (a.ptable || parts.length)) {
        problems.push({ where, problem: `preserve: ${device.path} has no partition table` });
        continue;
      }
      if (device.table && a.ptable && device.table.label !== a.ptable) {
        problems.push({
          where,
          problem: `preserve: ${device.path} has a ${device.table.label} table, config says ${a.ptable}`,
        });
      }
      table = device.table?.label;
      for (const p of parts) {
        if (!p.preserve)
          problems.push({
            where: `action '${p.id}'`,
            problem: `new partition on preserved disk '${a.id}' is not supported; preserve it or stop preserving the disk`,
          });
      }
    } else {
      for (const p of parts) {
        if (p.preserve)
          problems.push({
            where: `action '${p.id}'`,
            problem: `preserve: disk '${a.id}' is not preserved, its table will be rewritten`,
          });
      }
    }
    if (parts.length > 0 && table === undefined) {
      problems.push({ where, problem: 'disk has partitions but no ptable (gpt or msdos)' });
      continue;
    }
    const placed = table ? placePartitions(a, table, parts, device, problems) : [];
    disks.push({ action: a, device, table, partitions: placed });
  }
  if (problems.length) throw new StorageConfigError(problems);
  return { actions, byId, disks };
}

/** The action list, from `config:` or expanded from `layout:`. */
function rawActionList(
  storage: unknown,
  facts: StorageFacts,
  problems: Problem[],
): unknown[] | undefined {
  if (!isRecord(storage)) {
    problems.push({
      where: 'storage',
      problem: 'must be a mapping with version: 1 and config: [...]',
    });
    return undefined;
  }
  if (storage.layout !== undefined) {
    const sizeOf = (p: string) => {
      const real = facts.realpaths?.[p] ?? p;
      return facts.devices.find((d) => d.path === real)?.sizeBytes;
    };
    return expandLayout(storage.layout, sizeOf, problems);
  }
  if (storage.version !== 1) {
    problems.push({
      where: 'storage.version',
      problem: `must be 1, got ${JSON.stringify(storage.version)}`,
    });
  }
  if (!Array.isArray(storage.config)) {
    problems.push({ where: 'storage.config', problem: 'must be a list of actions' });
    return undefined;
  }
  return storage.config;
}

const LABEL_MAX: Partial<Record<string, number>> = {
  ext2: 16,
  ext3: 16,
  ext4: 16,
  xfs: 12,
  vfat: 11,
  fat: 11,
  fat12: 11,
  fat16: 11,
  fat32: 11,
  swap: 15,
  btrfs: 255,
};

function checkFormat(a: FormatAction, problems: Problem[]): void {
  const where = `action '${a.id}'`;
  const max = LABEL_MAX[a.fstype];
  if (a.label !== undefined && max !== undefined && Buffer.byteLength(a.label) > max) {
    problems.push({
      where,
      problem: `label "${a.label}" is longer than ${max} bytes, the limit for ${a.fstype}`,
    });
  }
  if (a.uuid !== undefined) {
    const fat = a.fstype.startsWith('fat') || a.fstype === 'vfat';
    const ok = fat
      ? /^[0-9a-f]{4}-?[0-9a-f]{4}$/i.test(a.uuid)
      : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(a.uuid);
    if (!ok)
      problems.push({
        where,
        problem: `uuid ${a.uuid} is not valid for ${a.fstype}${fat ? ' (8 hex digits, e.g. ABCD-1234)' : ''}`,
      });
  }
}

function checkLvm(actions: StorageAction[], problems: Problem[]): void {
  const rest = new Map<string, string>();
  for (const a of actions) {
    if (a.type !== 'lvm_partition' || a.size !== undefined) continue;
    const prior = rest.get(a.volgroup);
    if (prior)
      problems.push({
        where: `action '${a.id}'`,
        problem: `'${prior}' already takes the rest of volume group '${a.volgroup}'; give a size`,
      });
    else rest.set(a.volgroup, a.id);
  }
}
