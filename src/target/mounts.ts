// Reading the mount table (read-only; used to avoid double mounts and to verify teardown).
import { readFile } from 'node:fs/promises';

/** Mount points from /proc/self/mountinfo, unescaped (`\040` is a space). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) =>
      (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(parseInt(o, 8)),
      ),
    );
}

/** Mount points at or below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const all = await mountPoints();
  return all.filter((m) => m === dir || m.startsWith(dir.endsWith('/') ? dir : `${dir}/`));
}
