// Finds the machine's block devices with read-only probes: `lsblk --json -b -o COLUMNS` for the
// list, sizes, serials and mounts, sysfs where lsblk has nothing without udev (serials of
// virtio disks, device ids), and `sfdisk --json` for each disk's on-disk table (lsblk's
// pttype comes from udev, which may not run). Never reads the udev database.
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import type { BlockDevice, ExistingPartition, PartitionTable } from './types.js';

interface LsblkNode {
  name: string;
  kname?: string;
  path?: string;
  type?: string;
  size?: number | string | null;
  'log-sec'?: number | string | null;
  serial?: string | null;
  wwn?: string | null;
  model?: string | null;
  mountpoints?: (string | null)[];
  mountpoint?: string | null;
  children?: LsblkNode[];
}

const WHOLE_DISK_TYPES = new Set(['disk', 'loop']);

async function readSys(p: string): Promise<string | undefined> {
  try {
    const v = (await readFile(p, 'utf8')).trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

function mountsOf(n: LsblkNode): string[] {
  const own = [...(n.mountpoints ?? []), n.mountpoint].filter((m): m is string => !!m);
  return [...new Set([...own, ...(n.children ?? []).flatMap(mountsOf)])];
}

export function parseSfdiskJson(json: string): BlockDevice['table'] {
  const pt = (
    JSON.parse(json) as {
      partitiontable?: {
        label?: string;
        partitions?: {
          node: string;
          start: number;
          size: number;
          type: string;
          bootable?: boolean;
        }[];
      };
    }
  ).partitiontable;
  if (!pt || (pt.label !== 'gpt' && pt.label !== 'dos')) return undefined;
  const label: PartitionTable = pt.label === 'gpt' ? 'gpt' : 'msdos';
  const partitions: ExistingPartition[] = (pt.partitions ?? []).map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1] ?? 0),
    node: p.node,
    start: p.start,
    size: p.size,
    type: p.type,
    bootable: p.bootable ?? false,
  }));
  return { label, partitions };
}

// lsblk's -O would also probe every filesystem; these columns are all pxm reads.
const COLUMNS = 'NAME,KNAME,PATH,TYPE,SIZE,LOG-SEC,SERIAL,WWN,MODEL,MOUNTPOINTS';

export interface DiscoverOptions {
  /** Read the on-disk partition table only of devices this accepts (default: all). */
  tablesFor?: (device: BlockDevice) => boolean;
}

/** Whole disks and loop devices with their identity, size, partitions and mounts. */
export async function discoverBlockDevices(
  runner: Runner,
  opts: DiscoverOptions = {},
): Promise<BlockDevice[]> {
  const res = await runner.probe({
    argv: ['lsblk', '--json', '-b', '-o', COLUMNS],
    description: 'list block devices',
  });
  const nodes = (JSON.parse(res.stdout) as { blockdevices?: LsblkNode[] }).blockdevices ?? [];
  const out: BlockDevice[] = [];
  for (const n of nodes) {
    if (!WHOLE_DISK_TYPES.has(n.type ?? '')) continue;
    const name = n.kname ?? n.name;
    const sizeBytes = Number(n.size ?? 0);
    // Unattached loop devices have size 0: nothing to install on.
    if (!sizeBytes) continue;
    const sys = `/sys/class/block/${name}`;
    const serial =
      n.serial ?? (await readSys(`${sys}/serial`)) ?? (await readSys(`${sys}/device/serial`));
    const wwn = n.wwn ?? (await readSys(`${sys}/wwid`)) ?? (await readSys(`${sys}/device/wwid`));
    let deviceId: string | undefined;
    try {
      deviceId = path.basename(await readlink(`${sys}/device`));
    } catch {
      deviceId = undefined;
    }
    const devPath = n.path ?? `/dev/${name}`;
    const dev: BlockDevice = {
      name,
      path: devPath,
      sizeBytes,
      logicalSectorSize: Number(n['log-sec'] ?? 512) || 512,
      serial: serial ?? undefined,
      wwn: wwn ?? undefined,
      deviceId,
      model: n.model ?? undefined,
      kernelPartitions: (n.children ?? [])
        .filter((c) => c.type === 'part')
        .map((c) => ({
          name: c.kname ?? c.name,
          path: c.path ?? `/dev/${c.kname ?? c.name}`,
          sizeBytes: Number(c.size ?? 0),
        })),
      mountpoints: mountsOf(n),
    };
    out.push(dev);
  }
  await Promise.all(
    out
      .filter((d) => opts.tablesFor?.(d) ?? true)
      .map(async (dev) => {
        const pt = await runner.probe({
          argv: ['sfdisk', '--json', dev.path],
          allowFailure: true,
          description: `read the partition table of ${dev.path}`,
        });
        if (pt.exitCode === 0 && pt.stdout.trim()) dev.table = parseSfdiskJson(pt.stdout);
      }),
  );
  return out;
}
