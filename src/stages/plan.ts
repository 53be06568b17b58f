// Pure planning: the merged config becomes the ordered list of stages and commands,
// with curtin's rules. Nothing here touches the machine.
import type { ConfigMap } from '../config/merge.js';
import { DEFAULT_STAGES } from '../config/load.js';

export const STAGE_DESCRIPTIONS: Record<string, string> = {
  early: 'preparing for installation',
  partitioning: 'configuring storage',
  network: 'configuring network',
  extract: 'writing install sources to disk',
  curthooks: 'configuring installed system',
  hook: 'finalizing installation',
  late: 'executing late commands',
};

/** `curtin <name>` subcommands pxm runs in-process when they appear as an argv list. */
export const BUILTIN_SUBCOMMANDS = [
  'block-meta',
  'net-meta',
  'extract',
  'curthooks',
  'hook',
] as const;
export type BuiltinName = (typeof BUILTIN_SUBCOMMANDS)[number];

export type CommandAction =
  | { kind: 'builtin'; name: BuiltinName; args: string[] }
  | { kind: 'exec'; argv: string[] }
  | { kind: 'shell'; script: string };

export interface PlannedCommand {
  /** The key under `<stage>_commands`; also the last part of CURTIN_REPORTSTACK. */
  key: string;
  action: CommandAction;
}

export interface PlannedStage {
  name: string;
  description: string;
  /** Why the whole stage does not run (still reported, as a skipped stage). */
  skipped?: string;
  commands: PlannedCommand[];
}

export interface PlanOptions {
  /** `--target DIR`: install into a directory; partitioning never runs. */
  targetIsDirectory: boolean;
}

/**
 * Stages in `stages:` order (default early..late); in each, `<stage>_commands` entries
 * sorted by key as strings (so `9_x` runs after `10_x`), falsy entries skipped.
 */
export function planStages(config: ConfigMap, opts: PlanOptions): PlannedStage[] {
  const names = Array.isArray(config.stages) ? (config.stages as string[]) : [...DEFAULT_STAGES];
  return names.map((name) => {
    const stage: PlannedStage = {
      name,
      description: STAGE_DESCRIPTIONS[name] ?? `stage ${name}`,
      commands: planCommands(config[`${name}_commands`]),
    };
    if (name === 'partitioning' && opts.targetIsDirectory) {
      stage.skipped = 'installing into a directory (--target): no disk is touched';
    }
    return stage;
  });
}

export function planCommands(commands: unknown): PlannedCommand[] {
  if (!commands || typeof commands !== 'object') return [];
  const entries = Object.entries(commands as Record<string, unknown>);
  // Python's sorted() on str keys: code-point order, which is what `<` does on JS strings.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: PlannedCommand[] = [];
  for (const [key, value] of entries) {
    const action = toAction(value);
    if (action) out.push({ key, action });
  }
  return out;
}

/** null/false/''/[] are falsy in curtin (Python) and skip the entry. */
export function toAction(value: unknown): CommandAction | undefined {
  if (value === null || value === undefined || value === false || value === '') return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    const argv = value.map(String);
    if (
      argv[0] === 'curtin' &&
      (BUILTIN_SUBCOMMANDS as readonly string[]).includes(argv[1] ?? '')
    ) {
      return { kind: 'builtin', name: argv[1] as BuiltinName, args: argv.slice(2) };
    }
    return { kind: 'exec', argv };
  }
  return { kind: 'shell', script: String(value) };
}
