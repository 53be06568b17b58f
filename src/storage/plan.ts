// The storage planner: a pure function from a validated config and the discovered
// devices to the ordered steps that build it. Disks (wipe, table, partition nodes) come
// first in config order, then RAID, crypt, LVM and filesystems in config order as far as
// their dependencies allow, then mounts in path order (parents before children, whatever
// the list order), then fstab and crypttab.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { partitionNode, type PlacedPartition } from './geometry.js';
import { blkidType, filesystemUuid, mkfsArgv, mountType } from './mkfs.js';
import { StorageConfigError, type ValidDisk, type ValidStorage } from './validate.js';
import { wipeSteps } from './wipe.js';
import type { FstabEntry, MountAction, StorageAction, StoragePlan, StorageStep } from './types.js';

export interface PlanOptions {
  /** Where mounts go (TARGET_MOUNT_POINT). Required when the config has mounts. */
  target?: string;
  /** OUTPUT_FSTAB: fstab is written here (and crypttab beside it) when given. */
  fstabPath?: string;
  crypttabPath?: string;
  /** UUID source for filesystems without one; injectable so tests are deterministic. */
  randomUuid?: () => string;
}

/** /dev/mapper name of an LV: dashes in VG and LV names are doubled. */
export function lvNode(vg: string, lv: string): string {
  const esc = (s: string) => s.replace(/-/g, '--');
  return `/dev/mapper/${esc(vg)}-${esc(lv)}`;
}

export function mdNode(name: string): string {
  return /^md\d+$/.test(name) ? `/dev/${name}` : `/dev/md/${name}`;
}

export function sfdiskScript(disk: ValidDisk): string {
  const label = disk.table === 'gpt' ? 'gpt' : 'dos';
  const lines = [`label: ${label}`, 'unit: sectors', ''];
  for (const p of disk.partitions) {
    const fields = [`start=${p.start}`, `size=${p.size}`, `type=${p.type}`];
    if (p.bootable) fields.push('bootable');
    if (disk.table === 'gpt' && p.uuid) fields.push(`uuid=${p.uuid}`);
    // The node prefix fixes the partition number (gpt numbers may have gaps: 1, 2, 10).
    lines.push(`${partitionNode(disk.device.path, p.number)} : ${fields.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Mount order: fewer path components first, so / precedes /boot precedes /boot/efi. */
export function mountOrder(a: string, b: string): number {
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  return depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function to512(p: PlacedPartition, sectorSize: number): { start512: number; size512: number } {
  return { start512: (p.start * sectorSize) / 512, size512: (p.size * sectorSize) / 512 };
}

function diskSteps(disk: ValidDisk): StorageStep[] {
  const { action: a, device: dev } = disk;
  const steps: StorageStep[] = [];
  const nodes = disk.partitions.map((p) => ({
    number: p.number,
    node: partitionNode(dev.path, p.number),
    ...to512(p, dev.logicalSectorSize),
    ...(p.kind === 'extended' ? { extended: true } : {}),
  }));
  if (a.preserve) {
    if (nodes.length) {
      steps.push({
        kind: 'partitions',
        disk: dev.path,
        partitions: nodes,
        addMissing: true,
        description: `find the preserved partitions of ${dev.path}`,
      });
    }
  } else {
    const children = dev.kernelPartitions.map((c) => ({ node: c.path, size: c.sizeBytes }));
    if (a.wipe) steps.push(...wipeSteps(a.wipe, dev.path, dev.sizeBytes, children));
    if (disk.table) {
      // Old partition nodes would shadow the new ones; partx only adds into a clean slate.
      if (dev.kernelPartitions.length) {
        steps.push({
          kind: 'exec',
          argv: ['partx', '--delete', dev.path],
          description: `forget the old partition nodes of ${dev.path}`,
          // A probe (udev's blkid, an unmount finishing) can hold a node for a moment:
          // EBUSY then, gone 20-300 ms later.
          retries: 4,
        });
      }
      steps.push({
        kind: 'exec',
        // --no-tell-kernel: sfdisk's own re-read sleeps and, on loop devices, adds nothing.
        argv: [
          'sfdisk',
          '--no-tell-kernel',
          '--no-reread',
          '--quiet',
          '--wipe',
          'always',
          '--wipe-partitions',
          'always',
          dev.path,
        ],
        input: sfdiskScript(disk),
        description: `write a ${disk.table} partition table with ${disk.partitions.length} partition(s) on ${dev.path}`,
      });
      if (nodes.length) {
        steps.push({
          kind: 'partitions',
          disk: dev.path,
          partitions: nodes,
          addMissing: false,
          description: `add (partx --add) and verify the partition nodes of ${dev.path}`,
        });
      }
    }
  }
  return steps;
}

/** Config order, except that an action waits for what it refers to. */
function dependencyOrder(actions: StorageAction[]): StorageAction[] {
  const deps = new Map<string, string[]>();
  for (const a of actions) {
    const d: string[] = [];
    switch (a.type) {
      case 'format':
        d.push(a.volume);
        break;
      case 'lvm_volgroup':
        d.push(...a.devices);
        break;
      case 'lvm_partition':
        d.push(a.volgroup);
        // The rest-of-VG volume goes last so the sized ones still fit.
        if (a.size === undefined) {
          d.push(
            ...actions
              .filter(
                (o) =>
                  o.type === 'lvm_partition' && o.volgroup === a.volgroup && o.size !== undefined,
              )
              .map((o) => o.id),
          );
        }
        break;
      case 'raid':
        d.push(...a.devices, ...a.spare_devices);
        break;
      case 'dm_crypt':
        d.push(a.volume);
        break;
      default:
        break;
    }
    deps.set(a.id, d);
  }
  const done = new Set(
    actions
      .filter((a) => a.type === 'disk' || a.type === 'partition' || a.type === 'mount')
      .map((a) => a.id),
  );
  const pending = actions.filter((a) => !done.has(a.id));
  const out: StorageAction[] = [];
  while (pending.length) {
    const i = pending.findIndex((a) => (deps.get(a.id) ?? []).every((d) => done.has(d)));
    if (i < 0) {
      throw new StorageConfigError(
        pending.map((a) => ({
          where: `action '${a.id}'`,
          problem: 'is part of a reference cycle',
        })),
      );
    }
    const [a] = pending.splice(i, 1) as [StorageAction];
    done.add(a.id);
    out.push(a);
  }
  return out;
}

export function planStorage(valid: ValidStorage, opts: PlanOptions = {}): StoragePlan {
  const random = opts.randomUuid ?? randomUUID;
  const steps: StorageStep[] = [];
  const volumes: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const lanes: StorageStep[][] = [];
  for (const disk of valid.disks) {
    volumes[disk.action.id] = disk.device.path;
    sizes[disk.action.id] = disk.device.sizeBytes;
    for (const p of disk.partitions) {
      volumes[p.id] = partitionNode(disk.device.path, p.number);
      sizes[p.id] = p.size * disk.device.logicalSectorSize;
    }
    const own = diskSteps(disk);
    if (own.length) lanes.push(own);
  }
  // Disks are independent of each other until RAID/LVM join them: prepare them side by side.
  if (lanes.length > 1) {
    steps.push({ kind: 'lanes', lanes, description: `prepare ${lanes.length} disks side by side` });
  } else steps.push(...(lanes[0] ?? []));
  // Partition wipes, once every table is written and its nodes exist.
  for (const a of valid.actions) {
    if (a.type !== 'partition' || !a.wipe || a.flag === 'extended') continue;
    steps.push(...wipeSteps(a.wipe, volumes[a.id] as string, sizes[a.id] as number));
  }

  const vgNames: Record<string, string> = {};
  const crypttab: string[] = [];
  const fsOf: Record<string, { node: string; fstype: string }> = {};
  const mkfs: StorageStep[] = [];
  for (const a of dependencyOrder(valid.actions)) {
    switch (a.type) {
      case 'raid': {
        const node = mdNode(a.name);
        volumes[a.id] = node;
        const devs = a.devices.map((d) => volumes[d] as string);
        const spares = a.spare_devices.map((d) => volumes[d] as string);
        if (a.preserve) {
          steps.push({
            kind: 'exec',
            argv: ['mdadm', '--assemble', node, ...devs, ...spares],
            description: `assemble preserved RAID ${a.name}`,
            creates: { kind: 'md', node },
          });
        } else {
          steps.push({
            kind: 'exec',
            argv: [
              'mdadm',
              '--create',
              node,
              '--run',
              '--force',
              `--metadata=${a.metadata ?? '1.2'}`,
              `--level=${a.raidlevel}`,
              `--raid-devices=${devs.length}`,
              ...(spares.length ? [`--spare-devices=${spares.length}`] : []),
              ...devs,
              ...spares,
            ],
            description: `create RAID ${a.raidlevel} ${node} over ${devs.length} device(s)`,
            creates: { kind: 'md', node },
          });
        }
        break;
      }
      case 'dm_crypt': {
        const dev = volumes[a.volume] as string;
        const node = `/dev/mapper/${a.dm_name}`;
        volumes[a.id] = node;
        const keyArgs = a.keyfile ? ['--key-file', a.keyfile] : ['--key-file', '-'];
        const input = a.keyfile ? undefined : a.key;
        const luksUuid = a.uuid ?? random();
        if (!a.preserve) {
          steps.push({
            kind: 'exec',
            argv: [
              'cryptsetup',
              'luksFormat',
              '--type',
              'luks2',
              '--batch-mode',
              '--uuid',
              luksUuid,
              ...keyArgs,
              dev,
            ],
            input,
            description: `format ${dev} as LUKS2`,
          });
        }
        steps.push({
          kind: 'exec',
          argv: ['cryptsetup', 'open', '--type', 'luks2', ...keyArgs, dev, a.dm_name],
          input,
          description: `open ${dev} as ${node}`,
          creates: { kind: 'crypt', name: a.dm_name },
        });
        // A preserved header keeps its UUID; crypttab then names the device by path.
        crypttab.push(
          `${a.dm_name} ${a.preserve && !a.uuid ? dev : `UUID=${luksUuid}`} ${a.keyfile ?? 'none'} luks`,
        );
        break;
      }
      case 'lvm_volgroup': {
        vgNames[a.id] = a.name;
        const devs = a.devices.map((d) => volumes[d] as string);
        if (a.preserve) {
          steps.push({
            kind: 'exec',
            argv: ['vgchange', '--activate', 'y', a.name],
            description: `activate preserved volume group ${a.name}`,
            creates: { kind: 'vg', name: a.name },
          });
          break;
        }
        for (const d of devs)
          steps.push({
            kind: 'exec',
            argv: ['pvcreate', '--force', '--force', '--yes', d],
            description: `make ${d} an LVM physical volume`,
          });
        steps.push({
          kind: 'exec',
          argv: ['vgcreate', '--yes', a.name, ...devs],
          description: `create volume group ${a.name}`,
          creates: { kind: 'vg', name: a.name },
        });
        break;
      }
      case 'lvm_partition': {
        const vg = vgNames[a.volgroup] as string;
        volumes[a.id] = lvNode(vg, a.name);
        if (a.preserve) break;
        const size = a.size !== undefined ? ['--size', `${a.size}b`] : ['--extents', '100%FREE'];
        steps.push({
          kind: 'exec',
          argv: [
            'lvcreate',
            '--yes',
            '--wipesignatures',
            'y',
            '--zero',
            'y',
            '--name',
            a.name,
            ...size,
            vg,
          ],
          description: `create logical volume ${vg}/${a.name}`,
        });
        break;
      }
      case 'format': {
        const node = volumes[a.volume] as string;
        fsOf[a.id] = { node, fstype: mountType(a.fstype) };
        if (a.preserve) {
          steps.push({
            kind: 'verify-format',
            device: node,
            fstype: blkidType(a.fstype),
            description: `check that ${node} holds the preserved ${a.fstype} filesystem`,
          });
          break;
        }
        const uuid = filesystemUuid(a.fstype, a.uuid, random);
        mkfs.push({
          kind: 'exec',
          argv: mkfsArgv(a.fstype, node, uuid, a.label, a.extra_options),
          description: `make a${a.fstype === 'ext4' ? 'n' : ''} ${a.fstype} filesystem on ${node}`,
          concurrent: true,
        });
        break;
      }
      default:
        break;
    }
  }
  // Filesystems last: nothing but mounts depends on them, and each is on its own volume,
  // so they may run side by side (mkfs waits on the disk much of the time).
  steps.push(...mkfs);

  const mounts = valid.actions.filter((a): a is MountAction => a.type === 'mount');
  const fstab: FstabEntry[] = [];
  const swaps: FstabEntry[] = [];
  const ordered = mounts
    .map((m) => ({ m, fs: m.device !== undefined ? fsOf[m.device] : undefined }))
    .sort((x, y) => mountOrder(x.m.path ?? '', y.m.path ?? ''));
  for (const { m, fs } of ordered) {
    const fstype = m.fstype ?? fs?.fstype ?? 'auto';
    if (fstype === 'swap') {
      swaps.push({
        device: fs?.node,
        spec: m.spec,
        path: 'none',
        fstype: 'swap',
        options: m.options ?? 'sw',
        freq: m.freq ?? '0',
        passno: m.passno ?? '0',
      });
      continue;
    }
    const mpath = (m.path as string).replace(/\/+$/, '') || '/';
    if (opts.target === undefined) {
      throw new StorageConfigError([
        {
          where: `action '${m.id}'`,
          problem: 'mounts need a target directory (--target or TARGET_MOUNT_POINT)',
        },
      ]);
    }
    const dir =
      mpath === '/' ? path.resolve(opts.target) : path.join(path.resolve(opts.target), mpath);
    const source = fs?.node ?? (m.spec as string);
    const options = m.options ?? 'defaults';
    steps.push({ kind: 'mkdir', path: dir, description: `create mount point ${dir}` });
    steps.push({
      kind: 'exec',
      argv: ['mount', '-t', fstype, '-o', options, source, dir],
      description: `mount ${source} at ${mpath}`,
      creates: { kind: 'umount', path: dir },
    });
    fstab.push({
      device: m.spec ? undefined : fs?.node,
      spec: m.spec,
      path: mpath,
      fstype,
      options,
      freq: m.freq ?? '0',
      passno: m.passno ?? (mpath === '/' ? '1' : '0'),
    });
  }
  if (opts.fstabPath !== undefined) {
    steps.push({
      kind: 'fstab',
      path: opts.fstabPath,
      entries: [...fstab, ...swaps],
      description: `write fstab to ${opts.fstabPath}`,
    });
  }
  const crypttabPath =
    opts.crypttabPath ??
    (opts.fstabPath ? path.join(path.dirname(opts.fstabPath), 'crypttab') : undefined);
  if (crypttab.length && crypttabPath) {
    steps.push({
      kind: 'crypttab',
      path: crypttabPath,
      lines: crypttab,
      description: `write crypttab to ${crypttabPath}`,
    });
  }
  return { steps, volumes };
}
