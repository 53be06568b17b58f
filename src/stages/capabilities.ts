// Before anything runs: refuse configs that need a module this build does not have, or
// that would make pxm guess which disk to use. Errors name the file and key path.
import { ValidationError } from '../util/errors.js';
import { sourceOf, type ConfigMap, type Provenance } from '../config/merge.js';
import type { InstallModules } from './modules.js';
import type { BuiltinName, PlannedStage } from './plan.js';

/** Keys the curthooks builtin acts on; without a hooks module they cannot be honoured. */
export const CURTHOOKS_KEYS = [
  'apt',
  'debconf_selections',
  'grub',
  'kernel',
  'swap',
  'system_upgrade',
  'packages',
  'snap',
] as const;

function present(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

export function builtinsInPlan(stages: readonly PlannedStage[]): Set<BuiltinName> {
  const out = new Set<BuiltinName>();
  for (const s of stages) {
    if (s.skipped) continue;
    for (const c of s.commands) if (c.action.kind === 'builtin') out.add(c.action.name);
  }
  return out;
}

export function checkSupported(
  config: ConfigMap,
  prov: Provenance,
  stages: readonly PlannedStage[],
  modules: InstallModules,
  opts: { targetIsDirectory: boolean },
): void {
  const used = builtinsInPlan(stages);
  const where = (key: string): string => `${sourceOf(prov, key) ?? 'config'}: ${key}`;
  const notYet = (key: string, module: string): ValidationError =>
    new ValidationError(where(key), `not supported yet: this pxm build has no ${module} module`);

  if (used.has('block-meta')) {
    if (!present(config.storage)) {
      throw new ValidationError(
        'install',
        'no storage: config and no --target DIR: pxm never picks a disk by itself',
        {
          hint: 'give a storage: config naming the disks, or install into a directory with --target DIR',
        },
      );
    }
    if (!modules.storage) throw notYet('storage', 'storage');
  } else if (present(config.storage) && !opts.targetIsDirectory && !modules.storage) {
    throw notYet('storage', 'storage');
  }
  if (used.has('net-meta') && present(config.network)) {
    if (!modules.net) throw notYet('network', 'network');
    blameFile(prov, () => modules.net?.validateNetwork?.(config.network));
  }
  if (used.has('extract') && modules.sources) {
    const sources = modules.sources;
    blameFile(prov, () => sources.validate?.(config, opts.targetIsDirectory));
  } else if (used.has('extract')) {
    if (present(config.sources)) throw notYet('sources', 'sources (extract)');
    if (present(config.write_files)) throw notYet('write_files', 'sources (write_files)');
  }
  if (used.has('curthooks')) {
    const hooks = modules.hooks;
    for (const key of CURTHOOKS_KEYS) {
      if (!present(config[key]) || hooks?.keys?.includes(key)) continue;
      if (!hooks) throw notYet(key, 'curthooks');
      throw new ValidationError(where(key), 'not supported yet: no curthooks module acts on it');
    }
    if (hooks?.validate) blameFile(prov, () => hooks.validate?.(config));
  }
}

/**
 * Module validators name key paths (`network/config[0]`, `sources/10_root`); add the file
 * that set the value, from provenance, so every config error names file and key path.
 */
export async function checkStorageEarly(
  config: ConfigMap,
  prov: Provenance,
  stages: readonly PlannedStage[],
  modules: InstallModules,
): Promise<void> {
  const check = modules.storage?.check;
  if (!check || !builtinsInPlan(stages).has('block-meta')) return;
  // early_commands may create what storage: preserves; runStorage validates again then.
  const early = stages.find((s) => s.name === 'early');
  if (early && early.commands.length > 0) return;
  await blameFileAsync(prov, 'storage', () => check(config));
}

async function blameFileAsync(
  prov: Provenance,
  key: string,
  validate: () => Promise<void>,
): Promise<void> {
  try {
    await validate();
  } catch (error) {
    const file = sourceOf(prov, key);
    if (!(error instanceof ValidationError) || !file) throw error;
    throw new ValidationError(
      `${file}: ${error.where}`,
      error.message.startsWith(`${error.where}: `)
        ? error.message.slice(error.where.length + 2)
        : error.message,
      { hint: error.hint },
    );
  }
}

function blameFile(prov: Provenance, validate: () => void): void {
  try {
    validate();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const keyPath = error.where.replace(/\[(\d+)\]/g, '/$1').replace(/^\/+/, '');
    const file = sourceOf(prov, keyPath);
    if (!file || error.where.startsWith(file)) throw error;
    const problem = error.message.startsWith(`${error.where}: `)
      ? error.message.slice(error.where.length + 2)
      : error.message;
    throw new ValidationError(`${file}: ${error.where}`, problem, { hint: error.hint });
  }
}
