// The builtins behind `curtin <subcommand>` in stage command lists. The engine runs them
// in-process (so they share the Runner, the dry-run plan and the event stacks); the
// `pxm curtin ...` compatibility command runs the same functions from a shell string.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { PxmError, ValidationError } from '../util/errors.js';
import type { StageContext } from './context.js';
import type { InstallModules } from './modules.js';
import type { BuiltinName } from './plan.js';

export async function runBuiltin(
  name: BuiltinName,
  args: readonly string[],
  ctx: StageContext,
  modules: InstallModules,
): Promise<void> {
  switch (name) {
    case 'block-meta':
      return blockMeta(args, ctx, modules);
    case 'net-meta':
      return netMeta(args, ctx, modules);
    case 'extract':
      return extract(ctx, modules);
    case 'curthooks':
      return curthooks(ctx, modules);
    case 'hook':
      return finalizeHook(ctx);
  }
}

async function blockMeta(
  args: readonly string[],
  ctx: StageContext,
  modules: InstallModules,
): Promise<void> {
  const mode = args.find((a) => !a.startsWith('-')) ?? 'custom';
  if (mode !== 'custom') {
    // `simple`/`auto` choose a disk themselves; pxm only touches disks a config names.
    throw new ValidationError(
      `curtin block-meta ${mode}`,
      'not supported: pxm only runs block-meta custom with a storage: config',
    );
  }
  if (!modules.storage)
    throw new PxmError(
      'curtin block-meta: not supported yet: this pxm build has no storage module',
    );
  await modules.storage.runStorage(ctx, args);
}

async function netMeta(
  args: readonly string[],
  ctx: StageContext,
  modules: InstallModules,
): Promise<void> {
  // Without network: the module's auto mode discovers the NICs and configures DHCP on
  // the ones with carrier (the installed machine must come up on the network).
  if (!modules.net)
    throw new PxmError('curtin net-meta: not supported yet: this pxm build has no network module');
  await modules.net.runNetwork(ctx, args);
}

async function extract(ctx: StageContext, modules: InstallModules): Promise<void> {
  const hasSources = nonEmpty(ctx.config.sources);
  const hasFiles = nonEmpty(ctx.config.write_files);
  if (!hasSources && !hasFiles) {
    ctx.log('extract: no sources and no write_files; nothing to do');
    return;
  }
  if (!modules.sources)
    throw new PxmError('curtin extract: not supported yet: this pxm build has no sources module');
  if (hasSources) await modules.sources.extractSources(ctx);
  else ctx.log('extract: no sources given; only write_files');
  if (hasFiles) await modules.sources.writeFiles(ctx);
}

async function curthooks(ctx: StageContext, modules: InstallModules): Promise<void> {
  // An image may carry its own hooks; they replace the built-in ones (curtin's mode auto).
  if (await runTargetHook(ctx, 'curtin-hooks')) return;
  if (modules.hooks) return modules.hooks.runCurthooks(ctx);
  // No hooks module yet: configs needing one were refused before the install started
  // (capabilities.ts), so there is genuinely nothing to configure here.
  ctx.log(
    'curthooks: no curthooks module in this build and nothing configured for it; nothing to do',
  );
}

async function finalizeHook(ctx: StageContext): Promise<void> {
  if (!(await runTargetHook(ctx, 'finalize')))
    ctx.log('hook: no curtin/finalize in the target; nothing to do');
}

/** Runs TARGET/curtin/<name> on the host with the contract env, if it is executable. */
async function runTargetHook(ctx: StageContext, name: string): Promise<boolean> {
  const hook = path.join(ctx.target, 'curtin', name);
  try {
    await access(hook, constants.X_OK);
  } catch {
    return false;
  }
  await ctx.runner.run({ argv: [hook], description: `target's curtin/${name}` });
  return true;
}

function nonEmpty(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  return Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0;
}
