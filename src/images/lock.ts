// A cross-process lock on a cache entry, so two test workers (or two CI jobs on the same
// machine) asking for the same image build it once and the second one reuses it.
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Holds `lockPath` (a file with the owner's pid) while `fn` runs; breaks stale locks. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: { waitMs?: number; onWait?: (pid: number) => void } = {},
): Promise<T> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + (opts.waitMs ?? 60 * 60_000);
  let told = false;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
        // Owner died (or is mid-write: give it a moment before calling it stale).
        await sleep(200);
        const again = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
        if (again === pid || Number.isNaN(again)) await rm(lockPath, { force: true });
        continue;
      }
      if (!told) opts.onWait?.(pid);
      told = true;
      if (Date.now() > deadline) throw new Error(`${lockPath}: still held by pid ${pid}`);
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
