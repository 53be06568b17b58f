// The storage module's API for the install engine and `pxm block-meta`:
//   planStorage: pure, config + discovered devices -> validated plan (throws
//                StorageConfigError listing every problem; nothing is touched).
//   runStorage:  discovers, validates, plans and executes through the Runner, leaving
//                the filesystems mounted under `target` and fstab in `outputFstab`.
import { realpath } from 'node:fs/promises';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import { discoverBlockDevices } from './discover.js';
import { executePlan, teardown } from './execute.js';
import { planStorage as planValid, type PlanOptions } from './plan.js';
import { matchesDisk, validateStorage, type StorageFacts } from './validate.js';
import { parseActions } from './schema.js';
import type { BlockDevice, DiskAction, StoragePlan, Teardown } from './types.js';

export { StorageConfigError } from './validate.js';
export { StorageExecutionError, teardown } from './execute.js';
export { discoverBlockDevices } from './discover.js';
export type { BlockDevice, StoragePlan, StorageStep, Teardown } from './types.js';

/** Pure: validates `storage` (the config's `storage:` value) against the facts and plans it. */
export function planStorage(
  storage: unknown,
  facts: StorageFacts,
  opts: PlanOptions = {},
): StoragePlan {
  return planValid(validateStorage(storage, facts), opts);
}

/** Resolves symlinked disk paths (/dev/disk/by-id/...) named in the config. */
export async function resolveDiskPaths(storage: unknown): Promise<Record<string, string>> {
  const paths = new Set<string>();
  if (typeof storage === 'object' && storage !== null) {
    const s = storage as { config?: unknown; layout?: { disk?: unknown } };
    if (Array.isArray(s.config)) {
      for (const a of s.config as { type?: unknown; path?: unknown }[]) {
        if (a && a.type === 'disk' && typeof a.path === 'string') paths.add(a.path);
      }
    }
    if (typeof s.layout?.disk === 'string') paths.add(s.layout.disk);
  }
  const out: Record<string, string> = {};
  for (const p of paths) {
    try {
      out[p] = await realpath(p);
    } catch {
      // A path that does not exist stays as written; validation reports it matches nothing.
    }
  }
  return out;
}

/**
 * Which devices' partition tables discovery must read: those some disk action of the
 * config could match (reading every disk's table costs a process each).
 */
export function tablesWanted(
  storage: unknown,
  realpaths: Record<string, string>,
): (d: BlockDevice) => boolean {
  const s = storage as { config?: unknown; layout?: { disk?: unknown } } | undefined;
  if (typeof s?.layout?.disk === 'string') {
    const p = realpaths[s.layout.disk] ?? s.layout.disk;
    return (d) => d.path === p;
  }
  const { actions } = parseActions(s?.config ?? []);
  const disks = actions.filter((a): a is DiskAction => a.type === 'disk');
  return (d) => disks.some((a) => matchesDisk(a, d, realpaths));
}

export interface RunStorageOptions {
  runner: Runner;
  stack?: EventStack;
  /** The merged install config; its `storage:` key is used. */
  config: { storage?: unknown };
  /** TARGET_MOUNT_POINT: filesystems are mounted under it. */
  target?: string;
  /** OUTPUT_FSTAB: fstab (and crypttab beside it) is written there. */
  outputFstab?: string;
  /** Use these instead of discovering (tests). */
  devices?: BlockDevice[];
}

export interface StorageResult {
  plan: StoragePlan;
  /** What is left set up (mounts, VGs, md, crypt), in creation order; undo with teardown(). */
  made: Teardown[];
}

export async function runStorage(opts: RunStorageOptions): Promise<StorageResult> {
  const storage = opts.config.storage;
  const realpaths = await resolveDiskPaths(storage);
  const devices =
    opts.devices ??
    (await discoverBlockDevices(opts.runner, { tablesFor: tablesWanted(storage, realpaths) }));
  const plan = planStorage(
    storage,
    { devices, realpaths },
    { target: opts.target, fstabPath: opts.outputFstab },
  );
  const made = await executePlan(plan, { runner: opts.runner, stack: opts.stack });
  return { plan, made };
}

/**
 * Validates and plans against the disks as they are now, changing nothing (only read-only
 * probes run). For the install engine to refuse a bad storage config before any stage
 * runs. Caveat: a config that preserves partitions made by early_commands can only be
 * checked after those ran; runStorage validates again in any case.
 */
export async function checkStorage(opts: Omit<RunStorageOptions, 'stack'>): Promise<StoragePlan> {
  const storage = opts.config.storage;
  const realpaths = await resolveDiskPaths(storage);
  const devices =
    opts.devices ??
    (await discoverBlockDevices(opts.runner, { tablesFor: tablesWanted(storage, realpaths) }));
  return planStorage(
    storage,
    { devices, realpaths },
    { target: opts.target, fstabPath: opts.outputFstab },
  );
}

/** Unmounts and deactivates what runStorage left set up; returns what could not be undone. */
export async function releaseStorage(runner: Runner, made: Teardown[]): Promise<string[]> {
  return teardown(runner, made);
}
