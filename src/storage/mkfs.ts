// mkfs command lines, always forced and always with a UUID (curtin's contract: a
// filesystem's UUID is known before fstab is written). vfat has a 32-bit volume id
// instead of a UUID; blkid shows it as ABCD-1234.
import type { FsType } from './types.js';

export function isFat(fstype: string): boolean {
  return fstype === 'vfat' || fstype.startsWith('fat');
}

/** The id a new filesystem gets: given, or derived from a random UUID. */
export function filesystemUuid(
  fstype: FsType,
  given: string | undefined,
  random: () => string,
): string {
  if (given !== undefined) return isFat(fstype) ? fatSerial(given) : given.toLowerCase();
  const u = random();
  return isFat(fstype) ? fatSerial(u.replace(/-/g, '').slice(0, 8)) : u;
}

/** ABCD1234 / abcd-1234 -> ABCD-1234 (how blkid prints a FAT volume id). */
function fatSerial(s: string): string {
  const hex = s.replace(/-/g, '').toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4, 8)}`;
}

/** fstab / mount type name for a format's fstype. */
export function mountType(fstype: FsType): string {
  return isFat(fstype) ? 'vfat' : fstype;
}

/** blkid's TYPE for a format's fstype (to verify a preserved filesystem). */
export function blkidType(fstype: FsType): string {
  return isFat(fstype) ? 'vfat' : fstype;
}

export function mkfsArgv(
  fstype: FsType,
  device: string,
  uuid: string,
  label: string | undefined,
  extra: string[],
): string[] {
  const l = (flag: string) => (label !== undefined ? [flag, label] : []);
  switch (fstype) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      return [`mkfs.${fstype}`, '-F', '-q', '-U', uuid, ...l('-L'), ...extra, device];
    case 'xfs':
      return ['mkfs.xfs', '-f', '-q', '-m', `uuid=${uuid}`, ...l('-L'), ...extra, device];
    case 'btrfs':
      return ['mkfs.btrfs', '-f', '-q', '-U', uuid, ...l('-L'), ...extra, device];
    case 'swap':
      return ['mkswap', '-f', '-U', uuid, ...l('-L'), ...extra, device];
    case 'vfat':
    case 'fat':
    case 'fat12':
    case 'fat16':
    case 'fat32': {
      const bits = /^fat(\d+)$/.exec(fstype)?.[1];
      return [
        'mkfs.vfat',
        ...(bits ? ['-F', bits] : []),
        '-i',
        uuid.replace('-', ''),
        ...l('-n'),
        ...extra,
        device,
      ];
    }
  }
}
