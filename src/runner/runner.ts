// The Runner: the one place where pxm changes the machine.
//
// Every external command and every change pxm makes itself (a file write, a stream
// extraction) goes through a Runner as a step. A dry-run Runner records the steps and
// performs none of them, so `--dry-run` prints exactly the ordered plan a real run would
// execute. Read-only probes (blkid, lsblk, reading /sys) use `probe`, which runs in both
// modes because planning needs the facts they return.
import { CommandFailedError } from '../util/errors.js';

export interface CommandSpec {
  /** argv[0] is the program; no shell unless the caller asks for `sh -c`. */
  argv: readonly string[];
  /** Added to the runner's environment (which extends the process's). */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Written to the command's stdin; stdin is closed (not inherited) otherwise. */
  input?: string | Buffer;
  /** What the step is for, shown in the plan and in progress output. */
  description?: string;
  /** Do not copy the output to the sink (still returned). For noisy or secret output. */
  quiet?: boolean;
  /** Return a non-zero exit as a result instead of throwing. */
  allowFailure?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type PlanStep =
  | { kind: 'exec'; argv: readonly string[]; description?: string; cwd?: string }
  | { kind: 'write'; path: string; description?: string }
  | { kind: 'action'; description: string };

/** Where command output goes: the install log, and the console when verbose. */
export interface OutputSink {
  write(chunk: string | Buffer, stream: 'stdout' | 'stderr'): void;
}

export const nullSink: OutputSink = { write() {} };

export interface RunnerOptions {
  dryRun?: boolean;
  output?: OutputSink;
  /** Base environment added to every command (e.g. curtin's contract variables). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Called for every step before it runs (or instead of running, when dry). */
  onStep?: (step: PlanStep) => void;
}

export class Runner {
  readonly dryRun: boolean;
  readonly plan: PlanStep[] = [];
  private readonly output: OutputSink;
  private readonly baseEnv: Readonly<Record<string, string | undefined>>;
  private readonly onStep: ((step: PlanStep) => void) | undefined;

  constructor(opts: RunnerOptions = {}) {
    this.dryRun = opts.dryRun ?? false;
    this.output = opts.output ?? nullSink;
    this.baseEnv = opts.env ?? {};
    this.onStep = opts.onStep;
  }

  /** A runner sharing this one's mode, output and plan, with more environment. */
  withEnv(env: Readonly<Record<string, string | undefined>>): Runner {
    const child = new Runner({
      dryRun: this.dryRun,
      output: this.output,
      env: { ...this.baseEnv, ...env },
      onStep: (s) => this.record(s),
    });
    return child;
  }

  /** Runs a command that changes something. Dry-run: records it, returns success. */
  async run(spec: CommandSpec): Promise<CommandResult> {
    this.record({ kind: 'exec', argv: spec.argv, description: spec.description, cwd: spec.cwd });
    if (this.dryRun) return { exitCode: 0, stdout: '', stderr: '' };
    return this.exec(spec);
  }

  /** Runs a read-only command, also in dry-run. Not part of the plan. */
  async probe(spec: CommandSpec): Promise<CommandResult> {
    return this.exec({ quiet: true, ...spec });
  }

  /**
   * Performs an in-process change (file write, stream extraction) as a plan step.
   * Dry-run: records it and returns undefined without calling `fn`.
   */
  async action<T>(step: PlanStep, fn: () => Promise<T>): Promise<T | undefined> {
    this.record(step);
    if (this.dryRun) return undefined;
    return fn();
  }

  private record(step: PlanStep): void {
    this.plan.push(step);
    this.onStep?.(step);
  }

  private async exec(spec: CommandSpec): Promise<CommandResult> {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('Runner: empty argv');
    // execa is loaded on the first command, not when a command module is imported (start-up time).
    const { execa } = await import('execa');
    // Own process group: on cancel or timeout the whole group is signalled, so a grandchild
    // that still holds the output pipe (`sh -c 'sleep 600'`) cannot hold up the failure.
    // Cancel and timeout are handled here instead of by execa, which signals only the child.
    // The Ctrl-C watch goes on before the spawn: the child can run (and be seen running)
    // before spawn() returns, and a SIGINT in that window must not kill pxm alone.
    watchTerminalSignals(true);
    const child = execa(file, args, {
      env: { ...this.baseEnv, ...spec.env },
      extendEnv: true,
      cwd: spec.cwd,
      input: spec.input,
      stdin: spec.input === undefined ? 'ignore' : 'pipe',
      reject: false,
      stripFinalNewline: false,
      detached: true,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (!spec.quiet) {
      child.stdout?.on('data', (d: Buffer) => this.output.write(d, 'stdout'));
      child.stderr?.on('data', (d: Buffer) => this.output.write(d, 'stderr'));
    }
    const stop = new GroupStopper(child.pid);
    const timer =
      spec.timeoutMs === undefined
        ? undefined
        : setTimeout(() => stop.stop(`timed out after ${spec.timeoutMs} ms`), spec.timeoutMs);
    const onAbort = (): void => stop.stop('cancelled');
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
    let r;
    try {
      r = await child;
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      stop.done();
    }
    const result: CommandResult = {
      exitCode: r.exitCode ?? (r.failed ? 127 : 0),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
    };
    const failed = r.failed || result.exitCode !== 0 || stop.reason !== undefined;
    if (failed && !spec.allowFailure) {
      const why =
        stop.reason ??
        (r.exitCode === undefined && !r.signal ? `${r.shortMessage}` : result.stderr);
      throw new CommandFailedError(spec.argv, r.exitCode ?? null, why, r.signal ?? undefined);
    }
    return result;
  }
}

/** Milliseconds between SIGTERM and SIGKILL when a command group is stopped. */
const KILL_GRACE_MS = 5000;

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Stops one command's process group (SIGTERM, SIGKILL after a grace period) and keeps it
 * in the set of live groups that Ctrl-C must reach: a command in its own group no longer
 * gets the terminal's SIGINT.
 */
class GroupStopper {
  reason: string | undefined;
  private kill: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number | undefined) {
    if (pid !== undefined) liveGroups.add(pid);
  }

  stop(reason: string): void {
    if (this.reason !== undefined || this.pid === undefined) return;
    this.reason = reason;
    signalGroup(this.pid, 'SIGTERM');
    this.kill = setTimeout(() => signalGroup(this.pid!, 'SIGKILL'), KILL_GRACE_MS);
    this.kill.unref();
  }

  done(): void {
    clearTimeout(this.kill);
    if (this.pid !== undefined) liveGroups.delete(this.pid);
    if (liveGroups.size === 0) watchTerminalSignals(false);
  }
}

const liveGroups = new Set<number>();
const TERMINAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const handlers = new Map<NodeJS.Signals, () => void>();

/**
 * While commands run, SIGINT/SIGTERM/SIGHUP to pxm are passed on to their groups. When
 * another listener handles the signal (the install engine turns it into a cancel, which
 * stops the groups through the AbortSignal), this one stays out of the way; otherwise it
 * sends the groups SIGTERM and re-raises the signal so pxm still dies of it as before.
 */
function watchTerminalSignals(on: boolean): void {
  if (on === handlers.size > 0) return;
  if (!on) {
    for (const [sig, h] of handlers) process.off(sig, h);
    handlers.clear();
    return;
  }
  for (const sig of TERMINAL_SIGNALS) {
    const h = (): void => {
      if (process.listenerCount(sig) > 1) return;
      // SIGTERM, not the signal itself: background jobs of a non-interactive shell ignore SIGINT.
      for (const pid of liveGroups) signalGroup(pid, 'SIGTERM');
      watchTerminalSignals(false);
      process.kill(process.pid, sig);
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
}

/** One line per step, as `--dry-run` prints the plan. */
export function formatStep(step: PlanStep): string {
  switch (step.kind) {
    case 'exec':
      return `run   ${step.argv.map(shellQuote).join(' ')}${step.description ? `    # ${step.description}` : ''}`;
    case 'write':
      return `write ${step.path}${step.description ? `    # ${step.description}` : ''}`;
    case 'action':
      return `do    ${step.description}`;
  }
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
