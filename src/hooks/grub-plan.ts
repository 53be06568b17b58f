// The bootloader's pure planner: `grub:` + `storage:` + discovered facts -> which grub
// platforms, which packages the target lacks, and the grub-install invocations.
//   firmware: bios | uefi | both   (default: what the installer booted with)
//     bios  grub-install --target=i386-pc onto each BIOS disk (MBR + bios_grub on gpt)
//     uefi  grub-install --target=x86_64-efi into the ESP at /boot/efi
//     both  the two on the same disk: a disk that boots with either firmware
//   install_devices: [DISK...] | DISK | null   BIOS disks; default: the storage disks
//     carrying `grub_device: true` (on a partition: its disk), found at run time by the
//     entry's path/serial/wwn/device_id as curtin does; with `storage: {layout:}` its disk.
//     null or []: no i386-pc install.
//   update_nvram (false), removable (true): UEFI boot entry / EFI/BOOT/BOOTX64.EFI copy.
// Checks that need only the config run before anything is touched (exit 2, the key
// named: grub/..., storage/config[N]); the ones that need the firmware run as soon as the
// firmware is known (at validation when it is given or read from /sys/firmware/efi).
import { ValidationError } from '../util/errors.js';
import { mapping } from './target-files.js';

export type Firmware = 'bios' | 'uefi' | 'both';
export type GrubPlatform = 'i386-pc' | 'x86_64-efi';

/** A BIOS install device: a literal path, or a storage disk to find on the machine. */
export type GrubDevice = { path: string } | { diskId: string; where: string };

/** What the config asks for, checked without looking at the machine. */
export interface GrubIntent {
  firmware: Firmware;
  /** The `grub:` key is present (then a target without grub is an error, not a skip). */
  configured: boolean;
  biosDevices: GrubDevice[];
  updateNvram: boolean;
  removable: boolean;
}

/** What the target has, read from its file system. */
export interface TargetGrub {
  /** /usr/sbin/grub-install exists. */
  grubInstall: boolean;
  /** Platforms whose modules exist (/usr/lib/grub/<platform>). */
  platforms: readonly GrubPlatform[];
}

export interface GrubInstallFacts {
  /** storage disk id -> the device found for it (undefined: found none or several). */
  diskPaths: Readonly<Record<string, string | undefined>>;
  /** Symlinked install_devices (/dev/disk/by-id/...) -> their device node. */
  realpaths?: Readonly<Record<string, string>>;
  /** The ESP is mounted at TARGET/boot/efi (undefined: unknown, e.g. dry-run). */
  espMounted?: boolean;
}

export const PLATFORMS: Record<'bios' | 'uefi', GrubPlatform> = {
  bios: 'i386-pc',
  uefi: 'x86_64-efi',
};

const FAT = new Set(['vfat', 'fat', 'fat12', 'fat16', 'fat32']);

interface Entry {
  index: number;
  a: Record<string, unknown>;
}

function storageEntries(storage: unknown): Entry[] | undefined {
  const cfg = mapping(storage)?.config;
  if (!Array.isArray(cfg)) return undefined;
  return cfg.flatMap((v, index) => {
    const a = mapping(v);
    return a ? [{ index, a }] : [];
  });
}

const at = (e: Entry) => `storage/config[${e.index}]`;

/** Storage entries tagged grub_device, as the disks that carry grub for BIOS. */
function grubDisks(entries: Entry[]): GrubDevice[] {
  const byId = new Map(entries.map((e) => [e.a.id, e]));
  const out: GrubDevice[] = [];
  for (const e of entries) {
    if (e.a.grub_device !== true && e.a.grub_device !== 1) continue;
    let disk: Entry | undefined = e;
    if (e.a.type === 'partition') disk = byId.get(e.a.device);
    if (disk?.a.type !== 'disk' || typeof disk.a.id !== 'string')
      throw new ValidationError(
        at(e),
        'grub_device: only a disk or a partition of a disk can carry grub',
      );
    const id = disk.a.id;
    if (!out.some((d) => 'diskId' in d && d.diskId === id))
      out.push({ diskId: id, where: at(disk) });
  }
  return out;
}

function installDevices(v: unknown): GrubDevice[] {
  if (v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x.startsWith('/dev/')))
    throw new ValidationError('grub/install_devices', 'must be a list of /dev/ paths (or null)');
  return (list as string[]).map((p) => ({ path: p }));
}

/** A gpt disk needs a bios_grub partition for i386-pc's core image. */
function checkBiosGrub(entries: Entry[], devices: GrubDevice[]): void {
  for (const d of devices) {
    if (!('diskId' in d)) continue;
    const disk = entries.find((e) => e.a.id === d.diskId);
    if (disk?.a.ptable !== 'gpt') continue;
    const has = entries.some(
      (e) => e.a.type === 'partition' && e.a.device === d.diskId && e.a.flag === 'bios_grub',
    );
    if (!has)
      throw new ValidationError(
        d.where,
        `gpt disk '${d.diskId}' gets grub for BIOS (i386-pc) but has no bios_grub partition (add {type: partition, device: ${d.diskId}, size: 1M, flag: bios_grub})`,
      );
  }
}

/** UEFI needs an ESP (flag boot on gpt, or esp; fat) mounted at /boot/efi. */
function checkEsp(entries: Entry[], firmware: Firmware): void {
  const byId = new Map(entries.map((e) => [e.a.id, e]));
  const mount = entries.find(
    (e) =>
      e.a.type === 'mount' && typeof e.a.path === 'string' && /^\/boot\/efi\/?$/.test(e.a.path),
  );
  if (!mount)
    throw new ValidationError(
      'grub/firmware',
      `${firmware} needs an EFI system partition mounted at /boot/efi in storage/config (a partition with flag: boot on gpt or flag: esp, format fat32)`,
    );
  const fmt = byId.get(mount.a.device);
  const part = fmt ? byId.get(fmt.a.volume) : undefined;
  const disk = part ? byId.get(part.a.device) : undefined;
  const espFlag =
    part?.a.type === 'partition' &&
    (part.a.flag === 'esp' || (part.a.flag === 'boot' && disk?.a.ptable === 'gpt'));
  if (!espFlag || typeof fmt?.a.fstype !== 'string' || !FAT.has(fmt.a.fstype))
    throw new ValidationError(
      at(mount),
      '/boot/efi must be an EFI system partition: a partition with flag: boot (gpt) or esp, formatted fat32',
    );
}

/**
 * Pure: checks `grub:` (and the storage it relies on) and says what to install.
 * `hostFirmware` is what the installer booted with; without it (unknown) the
 * firmware-dependent storage checks wait until it is known.
 */
export function parseGrubConfig(
  config: Record<string, unknown>,
  hostFirmware?: 'bios' | 'uefi',
): GrubIntent {
  const g = config.grub === undefined || config.grub === null ? {} : mapping(config.grub);
  if (!g) throw new ValidationError('grub', 'must be a mapping');
  const fw = g.firmware ?? hostFirmware;
  if (fw !== undefined && fw !== 'bios' && fw !== 'uefi' && fw !== 'both')
    throw new ValidationError('grub/firmware', 'must be bios, uefi or both');
  for (const k of ['update_nvram', 'removable'] as const)
    if (g[k] !== undefined && typeof g[k] !== 'boolean')
      throw new ValidationError(`grub/${k}`, 'must be true or false');
  const entries = storageEntries(config.storage);
  const explicit = 'install_devices' in g;
  // storage layout: (simple, lvm) puts bios_grub + ESP on its one disk, which carries grub.
  const layoutDisk = mapping(mapping(config.storage)?.layout)?.disk;
  const biosDevices = explicit
    ? installDevices(g.install_devices)
    : typeof layoutDisk === 'string' && !entries
      ? [{ path: layoutDisk }]
      : grubDisks(entries ?? []);
  if (explicit && entries) grubDisks(entries); // the grub_device entries are checked anyway
  const intent: GrubIntent = {
    firmware: fw ?? 'bios',
    configured: config.grub !== undefined && config.grub !== null,
    biosDevices,
    updateNvram: g.update_nvram === true,
    removable: g.removable !== false,
  };
  if (fw === undefined) return intent;
  if (fw === 'both' && !biosDevices.length)
    throw new ValidationError(
      'grub/install_devices',
      'firmware both needs a disk for BIOS grub: set grub_device: true on a storage disk or list it in grub/install_devices',
    );
  if (entries?.length) {
    if (fw !== 'uefi') checkBiosGrub(entries, biosDevices);
    if (fw !== 'bios') checkEsp(entries, fw);
  }
  if (intent.updateNvram && hostFirmware === 'bios')
    throw new ValidationError(
      'grub/update_nvram',
      'the installer booted with BIOS: there is no UEFI NVRAM to write (use the removable path)',
    );
  return intent;
}

/** The grub platforms a firmware choice needs. */
export function platformsFor(firmware: Firmware): GrubPlatform[] {
  return firmware === 'both' ? ['i386-pc', 'x86_64-efi'] : [PLATFORMS[firmware]];
}

/**
 * Pure: the Debian packages the target lacks for this plan. With grub-install present only
 * the platform modules are added (grub-pc-bin, grub-efi-amd64-bin); without it the
 * full package for the main platform (grub-pc or grub-efi-amd64; they conflict, so
 * `both` takes grub-pc plus grub-efi-amd64-bin).
 */
export function grubPackages(intent: GrubIntent, target: TargetGrub): string[] {
  const need = platformsFor(intent.firmware);
  const pkgs: string[] = [];
  if (!target.grubInstall) pkgs.push(intent.firmware === 'uefi' ? 'grub-efi-amd64' : 'grub-pc');
  for (const p of need) {
    if (target.platforms.includes(p)) continue;
    const bin = p === 'i386-pc' ? 'grub-pc-bin' : 'grub-efi-amd64-bin';
    const covered = pkgs.includes(p === 'i386-pc' ? 'grub-pc' : 'grub-efi-amd64');
    if (!covered) pkgs.push(bin);
  }
  return pkgs;
}

/** Pure: the commands run in the target, in order (grub-install..., update-grub). */
export function planGrubInstall(intent: GrubIntent, facts: GrubInstallFacts): string[][] {
  const cmds: string[][] = [];
  if (intent.firmware !== 'uefi') {
    for (const d of intent.biosDevices) {
      let dev: string | undefined;
      if ('path' in d) dev = facts.realpaths?.[d.path] ?? d.path;
      else dev = facts.diskPaths[d.diskId];
      if (!dev)
        throw new ValidationError(
          'diskId' in d ? d.where : 'grub/install_devices',
          `grub_device disk '${'diskId' in d ? d.diskId : ''}' matches no single device on this machine`,
        );
      cmds.push(['grub-install', '--target=i386-pc', '--recheck', dev]);
    }
  }
  if (intent.firmware !== 'bios') {
    if (facts.espMounted === false)
      throw new ValidationError(
        'grub/firmware',
        `${intent.firmware} needs the EFI system partition mounted at /boot/efi in the target`,
      );
    const base = ['grub-install', '--target=x86_64-efi', '--efi-directory=/boot/efi'];
    cmds.push([...base, '--bootloader-id=debian', ...(intent.updateNvram ? [] : ['--no-nvram'])]);
    if (intent.removable) cmds.push([...base, '--removable', '--no-nvram']);
  }
  cmds.push(['update-grub']);
  return cmds;
}
