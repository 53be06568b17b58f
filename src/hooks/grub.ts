// bootloader: `grub:` (curtin keys, see grub-plan.ts) installs grub and writes grub.cfg in
// the target; `bootloader-packages` first adds the grub packages the target lacks for the
// chosen firmware (bios, uefi or both), with update-initramfs deferred.
// No udev runs on pxm's hosts, so /dev/disk/by-uuid does not exist and update-grub would
// write root=/dev/loopNpM. The chroot therefore gets a private tmpfs /dev holding only the
// basic nodes, the boot disks and their partitions, and hand-made disk/by-uuid links:
// grub.cfg then says root=UUID=. (in-target sees /dev mounted and does not bind the host's.)
import { access, readdir, realpath } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PxmError } from '../util/errors.js';
import { inTarget } from '../target/in-target.js';
import { discoverBlockDevices, resolveDiskPaths } from '../storage/index.js';
import { parseActions } from '../storage/schema.js';
import { matchesDisk } from '../storage/validate.js';
import type { DiskAction } from '../storage/types.js';
import type { Runner } from '../runner/runner.js';
import type { StageContext } from '../stages/context.js';
import type { HookModule } from './types.js';
import { existsInTarget, mapping, readTargetFile } from './target-files.js';
import { withInitramfsDeferred } from './initramfs-defer.js';
import {
  grubPackages,
  parseGrubConfig,
  planGrubInstall,
  platformsFor,
  type GrubIntent,
  type GrubPlatform,
  type TargetGrub,
} from './grub-plan.js';

interface TargetMount {
  source: string;
  at: string;
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
async function privateDev(
  ctx: StageContext,
  disks: string[],
  targetMounts: TargetMount[],
): Promise<() => Promise<void>> {
  const runner: Runner = ctx.runner;
  const dev = path.join(ctx.target, 'dev');
  // Everything mounted at or under the target (root, /boot, the ESP) and its whole disk:
  // grub-probe resolves each of them while installing.
  const mounts = targetMounts.map((m) => m.source);
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

/** What grub the target has (grub-install, the platforms' module directories). */
async function targetGrub(target: string): Promise<TargetGrub> {
  const platforms: GrubPlatform[] = [];
  for (const p of ['i386-pc', 'x86_64-efi'] as const)
    if (await existsInTarget(target, `/usr/lib/grub/${p}/modinfo.sh`)) platforms.push(p);
  return { grubInstall: await existsInTarget(target, '/usr/sbin/grub-install'), platforms };
}

/** Nothing asks for grub: no grub: key and no BIOS disk (grub_device / install_devices). */
function grubWanted(intent: GrubIntent): boolean {
  return intent.configured || intent.biosDevices.length > 0;
}

/** The install's own firmware; also read (synchronously) by validation. */
export function installerFirmware(): 'bios' | 'uefi' {
  return existsSync('/sys/firmware/efi') ? 'uefi' : 'bios';
}

/** Block devices mounted at or under the target (root, /boot, the ESP). */
async function targetMounts(ctx: StageContext): Promise<TargetMount[]> {
  const root = await realpath(ctx.target).catch(() => ctx.target);
  const out = await ctx.runner.probe({ argv: ['findmnt', '-n', '-r', '-o', 'SOURCE,TARGET'] });
  return out.stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter(
      ([src, at]) => src?.startsWith('/dev/') && at && (at === root || at.startsWith(`${root}/`)),
    )
    .map(([source, at]) => ({
      source: source as string,
      at: (at as string).slice(root.length) || '/',
    }));
}

/** storage disk id -> its device, found as the storage stage found it (path/serial/...). */
async function grubDiskPaths(
  ctx: StageContext,
  intent: GrubIntent,
): Promise<Record<string, string | undefined>> {
  const ids = intent.biosDevices.flatMap((d) => ('diskId' in d ? [d.diskId] : []));
  if (!ids.length) return {};
  const storage = ctx.config.storage;
  const realpaths = await resolveDiskPaths(storage);
  const devices = await discoverBlockDevices(ctx.runner, { tablesFor: () => false });
  const disks = parseActions(mapping(storage)?.config ?? []).actions.filter(
    (a): a is DiskAction => a.type === 'disk',
  );
  const found: Record<string, string | undefined> = {};
  for (const id of ids) {
    const action = disks.find((a) => a.id === id);
    const matches = action ? devices.filter((d) => matchesDisk(action, d, realpaths)) : [];
    found[id] = matches.length === 1 ? matches[0]?.path : undefined;
  }
  return found;
}

async function literalRealpaths(intent: GrubIntent): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of intent.biosDevices)
    if ('path' in d) out[d.path] = await realpath(d.path).catch(() => d.path);
  return out;
}

export const grubPackagesHook: HookModule = {
  name: 'bootloader-packages',
  description: 'installing the grub packages the firmware needs',
  keys: [],
  async run(ctx) {
    const intent = parseGrubConfig(ctx.config, installerFirmware());
    const have = await targetGrub(ctx.target);
    if (!have.grubInstall && !grubWanted(intent)) {
      ctx.log('bootloader-packages: no grub asked for and none in the target; skipped');
      return;
    }
    const pkgs = grubPackages(intent, have);
    if (!pkgs.length) {
      ctx.log(`bootloader-packages: target has grub for ${intent.firmware}; nothing to install`);
      return;
    }
    ctx.log(`bootloader-packages: installing ${pkgs.join(' ')} (${intent.firmware})`);
    await withInitramfsDeferred(ctx, () =>
      inTarget({
        target: ctx.target,
        runner: ctx.runner,
        env: { DEBIAN_FRONTEND: 'noninteractive' },
        argv: ['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs],
      }),
    );
  },
};

export const grubHook: HookModule = {
  name: 'bootloader',
  description: 'installing the bootloader (grub)',
  keys: ['grub'],
  validate: (config) => void parseGrubConfig(config, installerFirmware()),
  async run(ctx) {
    const intent = parseGrubConfig(ctx.config, installerFirmware());
    const have = await targetGrub(ctx.target);
    if (!have.grubInstall && !grubWanted(intent)) {
      ctx.log('bootloader: target has no grub and none is asked for; skipped');
      return;
    }
    // (A dry run installed no packages: what they would bring is taken as there.)
    if (!ctx.runner.dryRun) {
      if (!have.grubInstall)
        throw new PxmError('bootloader: grub is asked for but the target has no grub-install');
      const lacking = platformsFor(intent.firmware).filter((p) => !have.platforms.includes(p));
      if (lacking.length)
        throw new PxmError(
          `bootloader: the target lacks grub's ${lacking.join(', ')} modules (/usr/lib/grub/${lacking[0]})`,
        );
    }
    const mounts = await targetMounts(ctx);
    const cmds = planGrubInstall(intent, {
      diskPaths: await grubDiskPaths(ctx, intent),
      realpaths: await literalRealpaths(intent),
      espMounted: ctx.runner.dryRun ? undefined : mounts.some((m) => m.at === '/boot/efi'),
    });
    if (intent.firmware !== 'uefi' && !intent.biosDevices.length)
      ctx.log('bootloader: no grub_device / install_devices; no i386-pc install, grub.cfg only');
    const disks = cmds.filter((c) => c.includes('--target=i386-pc')).map((c) => c.at(-1) as string);
    const undo = ctx.runner.dryRun ? async () => undefined : await privateDev(ctx, disks, mounts);
    try {
      for (const argv of cmds) await inTarget({ target: ctx.target, runner: ctx.runner, argv });
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
