// The interfaces the stage engine calls in the other install modules, and the adapters
// that bind them to each module's own API. Each takes the StageContext; the engine owns
// the events around the call (the builtin's stack is ctx.stack), the module owns its
// steps (through ctx.runner, so --dry-run records them).
//
// A module that is not part of this build is `undefined`. The engine then refuses configs
// that need it before anything runs ("not supported yet"): pxm never pretends to have
// partitioned a disk or written a network config.
import type { StageContext } from './context.js';
import {
  extractSources,
  writeFiles,
  parseSources,
  parseWriteFiles,
  checkTargetInstallable,
  type ProxyConfig,
} from '../sources/index.js';
import { runStorage, releaseStorage, checkStorage } from '../storage/index.js';
import { Runner } from '../runner/runner.js';
import { netModule } from '../net/index.js';
import { hooksModule } from '../hooks/index.js';

export interface StorageModule {
  /**
   * `storage:` v1: validate against the discovered disks, plan, apply (partition, format,
   * mount under ctx.target, write OUTPUT_FSTAB); registers its teardown with ctx.onFinish.
   */
  runStorage(ctx: StageContext, args: readonly string[]): Promise<void>;
  /** Validates `storage:` against the discovered disks (read-only); throws ValidationError. */
  check?(config: Record<string, unknown>): Promise<void>;
}

export interface NetModule {
  /** `network:` (curtin net-meta MODE args): render into OUTPUT_NETWORK_CONFIG. */
  runNetwork(ctx: StageContext, args: readonly string[]): Promise<void>;
  /** Throws ValidationError naming the key path; called before anything runs. */
  validateNetwork?(config: unknown): void;
}

export interface SourcesModule {
  /** Every entry of `sources:` into ctx.target, in key order. */
  extractSources(ctx: StageContext): Promise<void>;
  /** `write_files:` into ctx.target (end of the extract stage, as curtin). */
  writeFiles(ctx: StageContext): Promise<void>;
  /** Parses sources and write_files; throws ValidationError before anything runs. */
  validate?(config: Record<string, unknown>, targetIsDirectory: boolean): void;
}

export interface HooksModule {
  runCurthooks(ctx: StageContext): Promise<void>;
  /** Config keys the modules honour; other curthooks keys are refused before anything runs. */
  keys?: readonly string[];
  /** Throws ValidationError naming the key path; called before anything runs. */
  validate?(config: Record<string, unknown>): void;
}

export interface InstallModules {
  storage?: StorageModule;
  net?: NetModule;
  sources?: SourcesModule;
  hooks?: HooksModule;
}

const sources: SourcesModule = {
  extractSources: (ctx) =>
    extractSources({
      runner: ctx.runner,
      stack: ctx.stack,
      sources: ctx.config.sources,
      target: ctx.target,
      proxy: (ctx.config.proxy ?? undefined) as ProxyConfig | undefined,
      signal: ctx.signal,
    }),
  writeFiles: (ctx) =>
    writeFiles({
      runner: ctx.runner,
      stack: ctx.stack,
      files: ctx.config.write_files,
      target: ctx.target,
    }),
  validate(config, targetIsDirectory) {
    const specs = parseSources(config.sources);
    if (targetIsDirectory) checkTargetInstallable(specs);
    parseWriteFiles(config.write_files);
  },
};

const storage: StorageModule = {
  async check(config) {
    // A dry runner: discovery only probes; anything else would merely be recorded.
    await checkStorage({ runner: new Runner({ dryRun: true }), config, target: '/target' });
  },
  async runStorage(ctx) {
    const { made } = await runStorage({
      runner: ctx.runner,
      stack: ctx.stack,
      config: ctx.config,
      target: ctx.target,
      outputFstab: ctx.paths.fstab,
    });
    ctx.onFinish(async () => {
      const left = await releaseStorage(ctx.runner, made);
      for (const l of left) ctx.log(`storage teardown: could not undo ${l}`);
    });
  },
};

const net: NetModule = {
  runNetwork: (ctx, args) => netModule.runNetwork(ctx, args),
  validateNetwork: (config) => netModule.validateNetwork(config),
};

export const installModules: InstallModules = {
  storage,
  net,
  sources,
  hooks: hooksModule,
};
