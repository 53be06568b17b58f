// The interfaces the stage engine calls in the other install modules. Each is a plain
// async function taking the StageContext; the engine owns events around the call (the
// builtin's stack is ctx.stack), the module owns its steps (through ctx.runner).
//
// A module that is not part of this build yet is `undefined` here. The engine then
// refuses configs that need it at validation time ("not supported yet"), before anything
// runs: pxm never pretends to have partitioned a disk or written a network config.
import type { StageContext } from './context.js';

export interface StorageModule {
  /** `storage:` v1: validate, plan, and apply (partition, format, mount at ctx.target, write OUTPUT_FSTAB). */
  runStorage(ctx: StageContext): Promise<void>;
  /** Validation only (no probing that changes anything); throws ValidationError. */
  validateStorage?(config: unknown): void;
}

export interface NetModule {
  /** `network:`: render into OUTPUT_NETWORK_CONFIG / the target. */
  runNetwork(ctx: StageContext): Promise<void>;
  validateNetwork?(config: unknown): void;
}

export interface SourcesModule {
  /** Every entry of `sources:` into ctx.target, in key order. */
  extractSources(ctx: StageContext): Promise<void>;
  /** `write_files:` into ctx.target (end of the extract stage, as curtin). */
  writeFiles(ctx: StageContext): Promise<void>;
}

export interface HooksModule {
  runCurthooks(ctx: StageContext): Promise<void>;
}

export interface InstallModules {
  storage?: StorageModule;
  net?: NetModule;
  sources?: SourcesModule;
  hooks?: HooksModule;
}

export const installModules: InstallModules = {
  storage: undefined,
  net: undefined,
  sources: undefined,
  hooks: undefined,
};
