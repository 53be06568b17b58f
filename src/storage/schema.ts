// Turns the raw `storage.config` list into typed actions, checking each known field's
// type. Unknown fields are ignored (MAAS sends many: model, multipath, partition_type,
// ...) but known fields with the wrong type, unknown action types, missing ids and
// duplicate ids are errors. Every error names the action and is collected, not thrown.
import { parseSize } from './size.js';
import {
  FSTYPES,
  PARTITION_FLAGS,
  WIPE_MODES,
  type ActionType,
  type FsType,
  type PartitionFlag,
  type StorageAction,
  type WipeMode,
} from './types.js';

export interface Problem {
  /** `action 'sda1'` or a key path such as `storage.config[3]`. */
  where: string;
  problem: string;
}

type FieldKind =
  'string' | 'bool' | 'size' | 'int' | 'list' | 'scalar' | { oneOf: readonly string[] };

const common = { id: 'string', type: 'string' } as const;
const FIELDS: Record<ActionType, Record<string, FieldKind>> = {
  disk: {
    ...common,
    path: 'string',
    serial: 'scalar',
    wwn: 'scalar',
    device_id: 'scalar',
    ptable: { oneOf: ['gpt', 'msdos', 'dos'] },
    wipe: { oneOf: WIPE_MODES },
    preserve: 'bool',
    name: 'scalar',
    grub_device: 'bool',
  },
  partition: {
    ...common,
    device: 'string',
    size: 'size',
    number: 'int',
    flag: { oneOf: [...PARTITION_FLAGS, ''] },
    offset: 'size',
    wipe: { oneOf: WIPE_MODES },
    preserve: 'bool',
    name: 'scalar',
    uuid: 'string',
  },
  format: {
    ...common,
    volume: 'string',
    fstype: { oneOf: FSTYPES },
    label: 'scalar',
    uuid: 'string',
    extra_options: 'list',
    preserve: 'bool',
  },
  mount: {
    ...common,
    device: 'string',
    path: 'string',
    options: 'string',
    spec: 'string',
    fstype: 'string',
    freq: 'scalar',
    passno: 'scalar',
  },
  lvm_volgroup: { ...common, name: 'scalar', devices: 'list', preserve: 'bool' },
  lvm_partition: { ...common, name: 'scalar', volgroup: 'string', size: 'size', preserve: 'bool' },
  raid: {
    ...common,
    name: 'scalar',
    raidlevel: 'scalar',
    devices: 'list',
    spare_devices: 'list',
    metadata: 'scalar',
    preserve: 'bool',
  },
  dm_crypt: {
    ...common,
    volume: 'string',
    dm_name: 'scalar',
    key: 'string',
    keyfile: 'string',
    uuid: 'string',
    preserve: 'bool',
  },
};

const REQUIRED: Record<ActionType, string[]> = {
  disk: [],
  partition: ['device'],
  format: ['volume', 'fstype'],
  mount: [],
  lvm_volgroup: ['name', 'devices'],
  lvm_partition: ['name', 'volgroup'],
  raid: ['name', 'raidlevel', 'devices'],
  dm_crypt: ['volume'],
};

const RAID_LEVELS: Record<string, number> = {
  '0': 0,
  '1': 1,
  '4': 4,
  '5': 5,
  '6': 6,
  '10': 10,
  raid0: 0,
  raid1: 1,
  raid4: 4,
  raid5: 5,
  raid6: 6,
  raid10: 10,
  stripe: 0,
  mirror: 1,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `"${v}"` : `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks one value against its field kind; returns the normalised value or a problem. */
function checkField(kind: FieldKind, v: unknown): { value: unknown } | { problem: string } {
  if (typeof kind === 'object') {
    const s = typeof v === 'string' ? v : undefined;
    if (s !== undefined && kind.oneOf.includes(s)) return { value: s };
    return {
      problem: `must be one of ${kind.oneOf.filter(Boolean).join(', ')}, got ${describe(v)}`,
    };
  }
  switch (kind) {
    case 'string':
      return typeof v === 'string' && v !== ''
        ? { value: v }
        : { problem: `must be a non-empty string, got ${describe(v)}` };
    case 'scalar':
      return typeof v === 'string' || typeof v === 'number'
        ? { value: String(v) }
        : { problem: `must be a string, got ${describe(v)}` };
    case 'bool':
      // curtin configs write `grub_device: 1` and `preserve: true` alike.
      if (typeof v === 'boolean') return { value: v };
      if (v === 0 || v === 1) return { value: v === 1 };
      return { problem: `must be true or false, got ${describe(v)}` };
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v > 0
        ? { value: v }
        : { problem: `must be a positive integer, got ${describe(v)}` };
    case 'size': {
      const bytes = parseSize(v);
      return bytes === undefined
        ? { problem: `must be a size such as 512M or 10G, got ${describe(v)}` }
        : { value: bytes };
    }
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? { value: v }
        : { problem: `must be a list of strings, got ${describe(v)}` };
  }
}

/** Normalises raw actions; returns the actions that parsed and every problem found. */
export function parseActions(
  raw: unknown,
  keyPath = 'storage.config',
): {
  actions: StorageAction[];
  problems: Problem[];
} {
  const problems: Problem[] = [];
  const actions: StorageAction[] = [];
  if (!Array.isArray(raw)) {
    return {
      actions,
      problems: [{ where: keyPath, problem: `must be a list of actions, got ${describe(raw)}` }],
    };
  }
  const seen = new Set<string>();
  raw.forEach((item, i) => {
    const at = `${keyPath}[${i}]`;
    if (!isRecord(item)) {
      problems.push({ where: at, problem: `must be a mapping, got ${describe(item)}` });
      return;
    }
    const id = item.id;
    if (typeof id !== 'string' || id === '') {
      problems.push({ where: at, problem: `has no id (every action needs a string id)` });
      return;
    }
    const where = `action '${id}'`;
    if (seen.has(id)) {
      problems.push({ where, problem: `duplicate id (${at} reuses it)` });
      return;
    }
    seen.add(id);
    const type = item.type;
    if (typeof type !== 'string' || !(type in FIELDS)) {
      problems.push({
        where,
        problem: `unknown type ${describe(type)} (supported: ${Object.keys(FIELDS).join(', ')})`,
      });
      return;
    }
    const t = type as ActionType;
    const out: Record<string, unknown> = { id, type: t };
    let ok = true;
    for (const [field, kind] of Object.entries(FIELDS[t])) {
      if (field === 'id' || field === 'type') continue;
      const v = item[field];
      if (v === undefined || v === null) continue;
      // `flag: ''` appears in MAAS output for "no flag".
      const r = checkField(kind, v);
      if ('problem' in r) {
        problems.push({ where, problem: `${field} ${r.problem}` });
        ok = false;
      } else if (r.value !== '') out[field] = r.value;
    }
    for (const field of REQUIRED[t]) {
      if (item[field] === undefined || item[field] === null) {
        problems.push({ where, problem: `${t} needs ${field}` });
        ok = false;
      }
    }
    if (!ok) return;
    const action = finish(t, out, where, problems);
    if (action) actions.push(action);
  });
  return { actions, problems };
}

/** Fills defaults and converts the checked fields into the typed action. */
function finish(
  t: ActionType,
  f: Record<string, unknown>,
  where: string,
  problems: Problem[],
): StorageAction | undefined {
  const id = f.id as string;
  const s = (k: string) => f[k] as string | undefined;
  const preserve = (f.preserve as boolean | undefined) ?? false;
  switch (t) {
    case 'disk':
      return {
        type: t,
        id,
        path: s('path'),
        serial: s('serial'),
        wwn: s('wwn'),
        device_id: s('device_id'),
        ptable: s('ptable') === 'dos' ? 'msdos' : (s('ptable') as 'gpt' | 'msdos' | undefined),
        wipe: s('wipe') as WipeMode | undefined,
        preserve,
        name: s('name'),
        grub_device: (f.grub_device as boolean | undefined) ?? false,
      };
    case 'partition':
      if (f.size === undefined && !preserve) {
        problems.push({
          where,
          problem: 'partition needs size (only preserved partitions may omit it)',
        });
        return undefined;
      }
      return {
        type: t,
        id,
        device: s('device') as string,
        size: f.size as number | undefined,
        number: f.number as number | undefined,
        flag: s('flag') as PartitionFlag | undefined,
        offset: f.offset as number | undefined,
        wipe: s('wipe') as WipeMode | undefined,
        preserve,
        name: s('name'),
        uuid: s('uuid'),
      };
    case 'format':
      return {
        type: t,
        id,
        volume: s('volume') as string,
        fstype: s('fstype') as FsType,
        label: s('label'),
        uuid: s('uuid'),
        extra_options: (f.extra_options as string[] | undefined) ?? [],
        preserve,
      };
    case 'mount':
      return {
        type: t,
        id,
        device: s('device'),
        path: s('path'),
        options: s('options'),
        spec: s('spec'),
        fstype: s('fstype'),
        freq: s('freq'),
        passno: s('passno'),
      };
    case 'lvm_volgroup':
      return { type: t, id, name: s('name') as string, devices: f.devices as string[], preserve };
    case 'lvm_partition':
      return {
        type: t,
        id,
        name: s('name') as string,
        volgroup: s('volgroup') as string,
        size: f.size as number | undefined,
        preserve,
      };
    case 'raid': {
      const level = RAID_LEVELS[String(f.raidlevel).toLowerCase()];
      if (level === undefined) {
        problems.push({
          where,
          problem: `raidlevel must be one of 0, 1, 4, 5, 6, 10, got ${String(f.raidlevel)}`,
        });
        return undefined;
      }
      return {
        type: t,
        id,
        name: s('name') as string,
        raidlevel: level,
        devices: f.devices as string[],
        spare_devices: (f.spare_devices as string[] | undefined) ?? [],
        metadata: s('metadata'),
        preserve,
      };
    }
    case 'dm_crypt':
      if (f.key === undefined && f.keyfile === undefined) {
        problems.push({ where, problem: 'dm_crypt needs key or keyfile' });
        return undefined;
      }
      return {
        type: t,
        id,
        volume: s('volume') as string,
        dm_name: s('dm_name') ?? id,
        key: s('key'),
        keyfile: s('keyfile'),
        uuid: s('uuid'),
        preserve,
      };
  }
}
