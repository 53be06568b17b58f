// bootloader: `grub:` (curtin keys) installs grub and writes grub.cfg in the target.
//   install_devices: [DISK...]   BIOS disks (default: storage disks with grub_device: true;
//                                an explicit empty list or null skips grub-install)
//   firmware: bios | uefi        pxm's addition; default: what the installer booted with
//   update_nvram: false          UEFI: write a boot entry (off: --no-nvram)
//   removable: true              UEFI: also install to EFI/BOOT/BOOTX64.EFI (the fallback
//                                path firmware boots with no NVRAM entry)
// No udev runs on pxm's hosts, so /dev/disk/by-uuid does not exist and update-grub would
// write root=/dev/loopNpM. The chroot therefore gets a private tmpfs /dev holding only the
// basic nodes, the boot disks and their partitions, and hand-made disk/by-uuid links:
// grub.cfg then says root=UUID=. (in-target sees /dev mounted and does not bind the host's.)
import { access, readdir } from 'node:fs/promises';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { PxmError, ValidationError } from '../util/errors.js';
import { inTarget } from '../target/in-target.js';
import type { Runner } from '../runner/runner.js';
import type { StageContext } from '../stages/context.js';
import type { HookModule } from './types.js';
import { existsInTarget, mapping, readTargetFile } from './target-files.js';

export interface GrubPlan {
  firmware: 'bios' | 'uefi';
  /** BIOS: the disks grub-install writes to; [] = config only. */
  devices: string[];
  updateNvram: boolean;
  removable: boolean;
}

function grubDisksFromStorage(storage: unknown): string[] {
  const cfg = mapping(storage)?.config;
  if (!Array.isArray(cfg)) return [];
  return cfg
    .map((a) => mapping(a))
    .filter((a) => a?.type === 'disk' && a.grub_device === true && typeof a.path === 'string')
    .map((a) => a?.path as string);
}

/** Pure: what to install from `grub:`, `storage:` and the installer's firmware. */
export function planGrub(config: Record<string, unknown>, hostFirmware: 'bios' | 'uefi'): GrubPlan {
  const g = config.grub === undefined || config.grub === null ? {} : mapping(config.grub);
  if (!g) throw new ValidationError('grub', 'must be a mapping');
  const firmware = g.firmware ?? hostFirmware;
  if (firmware !== 'bios' && firmware !== 'uefi')
    throw new ValidationError('grub/firmware', 'must be bios or uefi');
  let devices: string[];
  if ('install_devices' in g) {
    const d = g.install_devices;
    if (d === null) devices = [];
    else if (!Array.isArray(d) || !d.every((x) => typeof x === 'string' && x.startsWith('/dev/')))
      throw new ValidationError('grub/install_devices', 'must be a list of /dev/ paths');
    else devices = d as string[];
  } else devices = grubDisksFromStorage(config.storage);
  for (const k of ['update_nvram', 'removable'] as const)
    if (g[k] !== undefined && typeof g[k] !== 'boolean')
      throw new ValidationError(`grub/${k}`, 'must be true or false');
  return {
    firmware,
    devices,
    updateNvram: g.update_nvram === true,
    removable: g.removable !== false,
  };
}

async function hostFirmware(): Promise<'bios' | 'uefi'> {
  try {
    await access('/sys/firmware/efi');
    return 'uefi';
  } catch {
    return 'bios';
  }
}

/** The kernel's partitions of a whole disk, from sysfs (/dev/loop3 -> loop3p1, ...). */
async function partitionsOf(disk: string): Promise<string[]> {
  const name = path.basename(disk);
  try {
    const entries = await readdir(`/sys/class/block/${name}`);
    return entries.filter((e) => e.startsWith(name) && e !== name).map((e) => `/dev/${e}`);
  } catch {
    return [];
  }
}

/** /dev/vda1 -> /dev/vda (sysfs: a partition's directory sits in its disk's). */
async function wholeDisk(dev: string): Promise<string> {
  const name = path.basename(dev);
  try {
    await access(`/sys/class/block/${name}/partition`);
    return `/dev/${path.basename(path.dirname(await realpath(`/sys/class/block/${name}`)))}`;
  } catch {
    return dev;
  }
}

/** Mounts a tmpfs /dev in the target with just what grub needs; returns the undo. */
async function privateDev(ctx: StageContext, disks: string[]): Promise<() => Promise<void>> {
  const runner: Runner = ctx.runner;
  const dev = path.join(ctx.target, 'dev');
  // Everything mounted at or under the target (root, /boot, the ESP) and its whole disk:
  // grub-probe resolves each of them while installing.
  const mounts = (
    await runner.probe({ argv: ['findmnt', '-n', '-r', '-o', 'SOURCE,TARGET'] })
  ).stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter(
      ([src, at]) =>
        src?.startsWith('/dev/') && at && (at === ctx.target || at.startsWith(`${ctx.target}/`)),
    )
    .map(([src]) => src as string);
  const nodes = new Set<string>();
  for (const d of [...disks, ...(await Promise.all(mounts.map(wholeDisk)))]) {
    nodes.add(d);
    for (const p of await partitionsOf(d)) nodes.add(p);
  }
  for (const m of mounts) nodes.add(m);
  await runner.run({ argv: ['mkdir', '-p', dev], description: 'target /dev mount point' });
  await runner.run({
    argv: ['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'pxm-dev', dev],
    description: 'private /dev for grub (no udev here)',
  });
  const undo = async () => {
    await runner.run({ argv: ['umount', dev], allowFailure: true, description: 'private /dev' });
  };
  try {
    const basics = ['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((n) => `/dev/${n}`);
    await runner.run({
      argv: ['cp', '-a', ...basics, ...nodes, `${dev}/`],
      description: 'device nodes',
    });
    await runner.run({ argv: ['mkdir', '-p', `${dev}/disk/by-uuid`], description: 'by-uuid dir' });
    const blk = await runner.probe({
      argv: ['blkid', '-p', '-s', 'UUID', '-o', 'export', ...nodes],
      allowFailure: true,
    });
    let devname = '';
    for (const line of blk.stdout.split('\n')) {
      if (line.startsWith('DEVNAME=')) devname = line.slice(8);
      const m = /^UUID=([A-Za-z0-9-]+)$/.exec(line);
      if (m && devname)
        await runner.run({
          argv: ['ln', '-s', `../../${path.basename(devname)}`, `${dev}/disk/by-uuid/${m[1]}`],
          description: 'by-uuid link',
        });
    }
  } catch (error) {
    await undo();
    throw error;
  }
  return undo;
}

export const grubHook: HookModule = {
  name: 'bootloader',
  description: 'installing the bootloader (grub)',
  keys: ['grub'],
  validate: (config) => void planGrub(config, 'bios'),
  async run(ctx) {
    const plan = planGrub(ctx.config, await hostFirmware());
    if (!(await existsInTarget(ctx.target, '/usr/sbin/grub-install'))) {
      if (ctx.config.grub !== undefined || plan.devices.length)
        throw new PxmError('bootloader: grub: is configured but the target has no grub-install');
      ctx.log('bootloader: target has no grub; skipped');
      return;
    }
    const disks = await Promise.all(plan.devices.map((d) => realpath(d).catch(() => d)));
    const undo = ctx.runner.dryRun ? async () => undefined : await privateDev(ctx, disks);
    const run = (argv: string[]) => inTarget({ target: ctx.target, runner: ctx.runner, argv });
    try {
      if (plan.firmware === 'bios') {
        if (!disks.length) ctx.log('bootloader: no grub_device / install_devices; grub.cfg only');
        for (const d of disks) await run(['grub-install', '--target=i386-pc', '--recheck', d]);
      } else {
        const base = ['grub-install', '--target=x86_64-efi', '--efi-directory=/boot/efi'];
        await run([...base, '--bootloader-id=debian', ...(plan.updateNvram ? [] : ['--no-nvram'])]);
        if (plan.removable) await run([...base, '--removable', '--no-nvram']);
      }
      await run(['update-grub']);
    } finally {
      await undo();
    }
    const cfg = await readTargetFile(ctx.target, '/boot/grub/grub.cfg');
    if (cfg && /\slinux\s.*root=\/dev\//.test(cfg) && !/root=UUID=/.test(cfg)) {
      ctx.log('bootloader: warning: grub.cfg names root by device path, not UUID');
      ctx.stack.warn();
    }
  },
};
