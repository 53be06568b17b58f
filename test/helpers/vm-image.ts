// The ephemeral image for VM tests, built by pxm's own builder (`pxm images
// build-ephemeral`, run from the bundle under test) into ${PXM_CACHE_DIR:-/var/cache/pxm}.
// The builder's cache key covers suite, mirror, packages, builder revision and Node
// version, so CI builds it once per machine and reuses it until one of those changes.
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { all, haveCommand, haveRoot, type Capability } from './capability.js';
import { bundlePath } from './pxm.js';

export const cacheDir = process.env.PXM_CACHE_DIR ?? '/var/cache/pxm';

export interface TestImage {
  dir: string;
  vmlinuz: string;
  initrd: string;
  squashfs: string;
  cached: boolean;
  manifest: {
    key: string;
    buildSeconds: number;
    versions: { kernel: string; node: string; pxm: string };
    files: Record<string, { sha256: string; size: number }>;
    packages: string[];
    installed: Record<string, string>;
    mirror: string;
    suite: string;
  };
}

/** What building and booting the image needs. */
export function vmCapability(): Capability {
  return all(
    haveRoot(),
    haveCommand('qemu-system-x86_64'),
    haveCommand('debootstrap'),
    haveCommand('mksquashfs'),
  );
}

let pending: Promise<TestImage> | undefined;

/** Builds the test image, or reuses the cached one. One build per process at most. */
export function ensureTestImage(): Promise<TestImage> {
  pending ??= buildTestImage();
  return pending;
}

async function buildTestImage(): Promise<TestImage> {
  await mkdir(path.join(cacheDir, 'logs'), { recursive: true });
  const logFile = path.join(cacheDir, 'logs', `test-image-${process.pid}.log`);
  const log = createWriteStream(logFile);
  const child = execa(
    process.execPath,
    [bundlePath, 'images', 'build-ephemeral', '--json', '--cache-dir', cacheDir],
    { reject: false, all: true, env: { PXM_CACHE_DIR: cacheDir } },
  );
  child.all?.on('data', (d: Buffer) => log.write(d));
  const r = await child;
  await new Promise((resolve) => log.end(resolve));
  // The builder keeps its own log of a real build (logs/build-<key>.log).
  if (r.exitCode === 0) await rm(logFile, { force: true });
  if (r.exitCode !== 0)
    throw new Error(
      `building the test image failed (exit ${r.exitCode}); see ${logFile}:\n${String(r.all).slice(-3000)}`,
    );
  const stdout = String(r.stdout);
  const parsed = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    dir: string;
    cached: boolean;
    manifest: TestImage['manifest'];
  };
  return {
    dir: parsed.dir,
    vmlinuz: path.join(parsed.dir, 'vmlinuz'),
    initrd: path.join(parsed.dir, 'initrd.img'),
    squashfs: path.join(parsed.dir, 'root.squashfs'),
    cached: parsed.cached,
    manifest: parsed.manifest,
  };
}
