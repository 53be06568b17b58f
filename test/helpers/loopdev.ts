// Loop devices backed by sparse files, for storage tests on real block devices.
//
// Attach: `losetup -f --show -P` + `partx -a` (the host kernel has no partition parser,
// so -P alone adds no partition nodes). Teardown, only for this helper's own devices:
// unmount anything under the test's directories, `partx -d` (partition nodes added by
// partx survive `losetup -d` and would haunt the next user of that loop number), then
// `losetup -d`. Runs from afterAll and, as a last resort, from process exit hooks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface LoopDevice {
  /** /dev/loopN */
  dev: string;
  /** The sparse backing file. */
  file: string;
  sizeBytes: number;
}

const attached = new Set<string>();
const dirs = new Set<string>();
let hooked = false;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function quiet(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const last = () => cleanupAllLoops();
  process.once('exit', last);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      last();
      process.exit(130);
    });
  }
}

/** A fresh temporary directory registered for unmount-and-remove at teardown. */
export function tempDir(prefix = 'pxm-storage-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.add(d);
  hookExit();
  return d;
}

/** Creates a sparse file of `sizeBytes` in `dir` and attaches it. */
export function attachLoop(dir: string, name: string, sizeBytes: number): LoopDevice {
  hookExit();
  const file = path.join(dir, `${name}.img`);
  const fd = openSync(file, 'w');
  ftruncateSync(fd, sizeBytes);
  closeSync(fd);
  const dev = sh('losetup', ['-f', '--show', '-P', file]).trim();
  attached.add(dev);
  // Adds nodes for an existing table; exits non-zero when there is none, which is fine.
  quiet('partx', ['-a', dev]);
  return { dev, file, sizeBytes };
}

/** Mount points (from /proc/self/mounts) at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) =>
    s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => unescape(l.split(' ')[1] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Mount points at or below `dir` in the order they were mounted (/proc/self/mounts order). */
export function mountsInOrder(dir: string): string[] {
  return mountsUnder(dir).length === 0
    ? []
    : readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) =>
          (l.split(' ')[1] ?? '').replace(/\\(\d{3})/g, (_, o: string) =>
            String.fromCharCode(parseInt(o, 8)),
          ),
        )
        .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Kernel partition nodes of a loop device, e.g. ['/dev/loop3p1']. */
export function partitionNodes(dev: string): string[] {
  const base = path.basename(dev);
  try {
    return readdirSafe(`/sys/block/${base}`)
      .filter((n) => n.startsWith(`${base}p`))
      .map((n) => `/dev/${n}`);
  } catch {
    return [];
  }
}

function readdirSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

export function detachLoop(dev: string): void {
  for (const m of mountsUnderDevice(dev)) if (!quiet('umount', [m])) quiet('umount', ['-l', m]);
  if (partitionNodes(dev).length) {
    try {
      forgetPartitions(dev);
    } catch {
      // Teardown goes on: losetup -d still frees the device.
    }
  }
  quiet('losetup', ['-d', dev]);
  attached.delete(dev);
}

function mountsUnderDevice(dev: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${dev}p`) || l.startsWith(`${dev} `))
    .map((l) => l.split(' ')[1] ?? '')
    .filter(Boolean);
}

/** Unmounts under the registered dirs, detaches every loop device of this process, removes the dirs. */
export function cleanupAllLoops(): void {
  for (const d of dirs)
    for (const m of mountsUnder(d)) if (!quiet('umount', [m])) quiet('umount', ['-l', m]);
  for (const dev of [...attached]) detachLoop(dev);
  for (const d of dirs) {
    if (mountsUnder(d).length === 0) rmSync(d, { recursive: true, force: true });
  }
  dirs.clear();
}

/** Whether a loop device of ours is still attached to `file`. */
export function loopsBackedBy(file: string): string[] {
  return sh('losetup', ['-j', file])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[0] ?? '');
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sfdiskJson(dev: string): {
  label: string;
  partitions: { node: string; start: number; size: number; type: string; bootable?: boolean }[];
} {
  return (
    JSON.parse(sh('sfdisk', ['--json', dev])) as { partitiontable: ReturnType<typeof sfdiskJson> }
  ).partitiontable;
}

/** blkid's low-level probe: {TYPE, UUID, LABEL, ...}. */
export function blkid(dev: string): Record<string, string> {
  const out: Record<string, string> = {};
  let text = '';
  try {
    text = sh('blkid', ['-p', '-o', 'export', dev]);
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * `partx -d dev`, retried for up to ~1.5 s: right after an unmount the kernel can still
 * hold a partition for a moment ("error deleting partition N"), as pxm's own partx
 * --delete step allows for (src/storage/plan.ts).
 */
export function forgetPartitions(dev: string): void {
  for (let attempt = 0, delay = 20; ; attempt++, delay *= 2) {
    try {
      sh('partx', ['-d', dev]);
      return;
    } catch (e) {
      if (attempt >= 6) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}

export function run(cmd: string, args: string[], input?: string): string {
  return sh(cmd, args, input);
}
