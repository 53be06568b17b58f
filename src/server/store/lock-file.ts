// One writer per database: a lock file beside it holding the owner's pid and process
// start time. SQLite's own `locking_mode=EXCLUSIVE` would also keep a second server out,
// but it keeps the WAL index in the owner's private memory, so no other process could
// even read: the HTTP workers (src/server/workers/) open the database read-only beside
// the one writer. A lock left by a process that died (SIGKILL, power loss) is broken:
// its pid no longer runs, or runs a different process (the start time differs).
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { PxmError } from '../../util/errors.js';

export interface FileLock {
  readonly file: string;
  release(): void;
}

/** A lock file younger than this with no pid in it is being written by its owner. */
const FRESH_EMPTY_MS = 10_000;

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined without /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function running(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user, which still holds the lock.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid runs, but after a reboot it may be another program: compare start times.
  if (start === undefined) return true;
  const now = startTime(pid);
  return now === undefined || now === start;
}

/** The pid holding the lock, or undefined when the lock is stale. */
function liveOwner(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const [pidText, start] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) {
    // Created but not yet written (or cut short by a crash): fresh means someone owns it.
    const age = Date.now() - statSync(file).mtimeMs;
    return age < FRESH_EMPTY_MS ? -1 : undefined;
  }
  return running(pid, start || undefined) ? pid : undefined;
}

/**
 * Creates `file` exclusively with this process's pid, breaking a stale one. Throws a
 * PxmError naming `what` and the owner when another live process holds it.
 */
export function acquireLock(file: string, what: string): FileLock {
  const content = `${process.pid} ${startTime(process.pid) ?? ''}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new PxmError(`cannot create the lock file ${file}: ${(e as Error).message}`);
      const owner = liveOwner(file);
      if (owner !== undefined)
        throw new PxmError(
          `${what} is in use by another process${owner > 0 ? ` (pid ${owner})` : ''}`,
          { hint: `another pxm server is running with this --data-dir (lock file ${file})` },
        );
      // Stale: its owner is gone. Remove it and try again (another starter may win).
      try {
        unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      continue;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return {
      file,
      release() {
        // Only our own lock: never remove one a later owner wrote after breaking ours.
        try {
          if (readFileSync(file, 'utf8') === content) unlinkSync(file);
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new PxmError(`cannot take the lock file ${file}: it keeps reappearing`, {
    hint: 'several pxm servers are starting on this --data-dir at once',
  });
}
