// Error types that carry what the CLI needs to report them: a one-line cause, the
// process exit status, and (for config errors) where the bad value came from.

/** Exit statuses, documented in docs/exit-codes.md. Scripts rely on them. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  /** Bad input: config, flags, storage plan. Nothing was changed. */
  INVALID: 2,
  /** An install stage failed (curtin's status). An error tarball was written. */
  INSTALL_FAILED: 3,
  /** The thing asked for does not exist (client). */
  NOT_FOUND: 4,
  /** A wait ran out of time (client). */
  TIMEOUT: 5,
  /** The server refused the credentials (client). */
  UNAUTHORIZED: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class PxmError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PxmError';
    this.exitCode = opts.exitCode ?? ExitCode.ERROR;
    this.hint = opts.hint;
  }
}

/** Invalid input found before anything ran. `where` names file, key path or action id. */
export class ValidationError extends PxmError {
  readonly where: string;
  constructor(where: string, problem: string, opts: { hint?: string } = {}) {
    super(`${where}: ${problem}`, { exitCode: ExitCode.INVALID, ...opts });
    this.name = 'ValidationError';
    this.where = where;
  }
}

/** An external command exited non-zero (or could not start). */
export class CommandFailedError extends PxmError {
  readonly argv: readonly string[];
  readonly status: number | null;
  readonly stderrTail: string;
  constructor(argv: readonly string[], status: number | null, stderrTail: string, signal?: string) {
    const why = signal
      ? `killed by ${signal}`
      : status === null
        ? 'could not start'
        : `exit status ${status}`;
    const tail = summaryLine(stderrTail);
    super(`${argv.join(' ')}: ${why}${tail ? ` (${tail})` : ''}`);
    this.name = 'CommandFailedError';
    this.argv = argv;
    this.status = status;
    this.stderrTail = stderrTail;
  }
}

/**
 * The stderr line that says why a command failed: the last one that is not a hint
 * appended after the real message (Node's "(Use `node --trace-warnings ...`", git's "hint:").
 */
export function summaryLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const real = lines.filter((l) => !l.startsWith('(Use `node --trace') && !l.startsWith('hint:'));
  return real.at(-1) ?? lines.at(-1) ?? '';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
