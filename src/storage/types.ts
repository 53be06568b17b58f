// Types shared by the storage modules: normalised curtin storage v1 actions, the facts
// discovery returns about block devices, and the steps the planner emits.

export type PartitionTable = 'gpt' | 'msdos';
export type WipeMode = 'superblock' | 'superblock-recursive' | 'zero' | 'random' | 'pvremove';
export const WIPE_MODES: readonly WipeMode[] = [
  'superblock',
  'superblock-recursive',
  'zero',
  'random',
  'pvremove',
];

export type PartitionFlag =
  | 'boot'
  | 'esp'
  | 'bios_grub'
  | 'swap'
  | 'lvm'
  | 'raid'
  | 'prep'
  | 'extended'
  | 'logical'
  | 'home'
  | 'linux';
export const PARTITION_FLAGS: readonly PartitionFlag[] = [
  'boot',
  'esp',
  'bios_grub',
  'swap',
  'lvm',
  'raid',
  'prep',
  'extended',
  'logical',
  'home',
  'linux',
];

export const FSTYPES = [
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'vfat',
  'fat',
  'fat12',
  'fat16',
  'fat32',
  'swap',
] as const;
export type FsType = (typeof FSTYPES)[number];

export interface DiskAction {
  type: 'disk';
  id: string;
  path?: string;
  serial?: string;
  wwn?: string;
  device_id?: string;
  ptable?: PartitionTable;
  wipe?: WipeMode;
  preserve: boolean;
  name?: string;
  grub_device: boolean;
}

export interface PartitionAction {
  type: 'partition';
  id: string;
  device: string;
  /** Bytes; undefined only for preserved partitions (size read from the disk). */
  size?: number;
  number?: number;
  flag?: PartitionFlag;
  /** Bytes from the start of the disk (curtin's `offset`). */
  offset?: number;
  wipe?: WipeMode;
  preserve: boolean;
  name?: string;
  uuid?: string;
}

export interface FormatAction {
  type: 'format';
  id: string;
  volume: string;
  fstype: FsType;
  label?: string;
  uuid?: string;
  extra_options: string[];
  preserve: boolean;
}

export interface MountAction {
  type: 'mount';
  id: string;
  device?: string;
  path?: string;
  options?: string;
  spec?: string;
  fstype?: string;
  freq?: string;
  passno?: string;
}

export interface LvmVolgroupAction {
  type: 'lvm_volgroup';
  id: string;
  name: string;
  devices: string[];
  preserve: boolean;
}

export interface LvmPartitionAction {
  type: 'lvm_partition';
  id: string;
  name: string;
  volgroup: string;
  /** Bytes; undefined = the rest of the volume group. */
  size?: number;
  preserve: boolean;
}

export interface RaidAction {
  type: 'raid';
  id: string;
  name: string;
  raidlevel: number;
  devices: string[];
  spare_devices: string[];
  metadata?: string;
  preserve: boolean;
}

export interface DmCryptAction {
  type: 'dm_crypt';
  id: string;
  volume: string;
  dm_name: string;
  /** Passphrase given inline; never logged, passed to cryptsetup on stdin. */
  key?: string;
  keyfile?: string;
  /** LUKS header UUID; random when not given so crypttab can name it. */
  uuid?: string;
  preserve: boolean;
}

export type StorageAction =
  | DiskAction
  | PartitionAction
  | FormatAction
  | MountAction
  | LvmVolgroupAction
  | LvmPartitionAction
  | RaidAction
  | DmCryptAction;

export type ActionType = StorageAction['type'];

/** A partition as found in a disk's on-disk table (sfdisk --json), in sectors. */
export interface ExistingPartition {
  number: number;
  node: string;
  start: number;
  size: number;
  type: string;
  bootable: boolean;
}

/** One block device (whole disk or loop device) as discovery found it. */
export interface BlockDevice {
  name: string;
  path: string;
  sizeBytes: number;
  logicalSectorSize: number;
  serial?: string;
  wwn?: string;
  deviceId?: string;
  model?: string;
  /** Kernel partition nodes currently present (e.g. loop0p1), whatever the table says. */
  kernelPartitions: { name: string; path: string; sizeBytes: number }[];
  /** Anything of this device or its partitions mounted now. */
  mountpoints: string[];
  table?: { label: PartitionTable; partitions: ExistingPartition[] };
}

/** Something a step creates that must be undone if a later step fails. */
export type Teardown =
  | { kind: 'umount'; path: string }
  | { kind: 'vg'; name: string }
  | { kind: 'md'; node: string }
  | { kind: 'crypt'; name: string };

export interface ExpectedPartition {
  number: number;
  node: string;
  /** In 512-byte units, as /sys/class/block/X/{start,size} report them. */
  start512: number;
  size512: number;
  /** msdos extended: the kernel's node covers only the first 1 KiB (size 2), by design. */
  extended?: boolean;
}

export interface FstabEntry {
  /** Device whose UUID blkid reports; undefined when `spec` is given verbatim. */
  device?: string;
  spec?: string;
  path: string;
  fstype: string;
  options: string;
  freq: string;
  passno: string;
}

export type StorageStep =
  | {
      kind: 'exec';
      argv: string[];
      description: string;
      /** stdin for the command (a LUKS key); never printed. */
      input?: string;
      /** Undone in reverse order if a later step fails. */
      creates?: Teardown;
      allowFailure?: boolean;
      /** May run at the same time as the neighbouring steps that also say so. */
      concurrent?: boolean;
      /** Retry a failed run this many times (backing off): for partx against a transient EBUSY. */
      retries?: number;
    }
  | {
      /** Zeroes `length` bytes at `offset` in-process (no dd per MiB) and syncs them. */
      kind: 'zero';
      device: string;
      offset: number;
      length: number;
      description: string;
    }
  | {
      kind: 'partitions';
      disk: string;
      description: string;
      partitions: ExpectedPartition[];
      /** Preserved tables: add only the nodes the kernel lacks (`partx -a --nr N:N`). */
      addMissing: boolean;
    }
  | {
      /** Step lists that may run at the same time (one per disk); each list in order. */
      kind: 'lanes';
      lanes: StorageStep[][];
      description: string;
    }
  | { kind: 'verify-format'; device: string; fstype: string; description: string }
  | { kind: 'mkdir'; path: string; description: string }
  | { kind: 'fstab'; path: string; entries: FstabEntry[]; description: string }
  | { kind: 'crypttab'; path: string; lines: string[]; description: string };

export interface StoragePlan {
  steps: StorageStep[];
  /** Block device node of each volume id (disk, partition, lv, md, crypt). */
  volumes: Record<string, string>;
}
