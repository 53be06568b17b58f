// What every curthooks module is: a named step with its own event stack, acting on the
// target only through the Runner (in-target commands or confined file writes).
import type { StageContext } from '../stages/context.js';

export interface HookModule {
  /** Event name under the curthooks builtin's stack (`.../curthooks/<name>`). */
  name: string;
  description: string;
  /** The config keys it reads (documented in docs/curthooks.md). */
  keys: readonly string[];
  /** Throws ValidationError naming the key path; runs before anything is touched. */
  validate?(config: Record<string, unknown>): void;
  run(ctx: StageContext): Promise<void>;
}
