// The ephemeral image build: debootstrap + packages (cached as a root tarball), pxm's
// own files, kernel + initrd, squashfs, manifest (the finished image cached too).
//
// Every command goes through the Runner; every stage is an EventStack so progress shows
// on the terminal and in logs. The work directory lives in the cache directory (same
// filesystem, so the finished image is moved in with one rename) and is removed in
// `finally`, after every mount below it is gone.
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import { PxmError } from '../util/errors.js';
import { withChrootMounts, unmountAllUnder } from './chroot.js';
import { GUEST_SYMLINKS, guestFiles } from './guest-files.js';
import { BUILDER_REVISION, imageKey, rootKey, type BuildInputs } from './inputs.js';
import { withFileLock } from './lock.js';
import { trimRoot } from './trim.js';
import { pruneCache, writeRootInfo } from './prune.js';
import {
  ARTEFACTS,
  describeArtefacts,
  parseDpkgList,
  readManifest,
  type ImageManifest,
} from './manifest.js';

export interface BuildOptions {
  inputs: BuildInputs;
  /** Holds images/<key>/, roots/<key>.tar.zst, debs/, work/. */
  cacheDir: string;
  /** The pxm bundle baked in as /usr/local/lib/pxm/pxm.cjs. */
  bundlePath: string;
  /** The Node binary baked in as /usr/local/bin/node (its version is inputs.nodeVersion). */
  nodeBinary: string;
  /** Rebuild even when the cache has this image (the root tarball is still reused). */
  noCache?: boolean;
  runner: Runner;
  stack: EventStack;
  /**
   * Told the cleanup of the current work dir (undefined once done), so a signal handler
   * can unmount and remove it when the build is interrupted.
   */
  onWorkDir?: (cleanup: (() => Promise<void>) | undefined) => void;
}

export interface BuildResult {
  dir: string;
  manifest: ImageManifest;
  cached: boolean;
}

/** Kernel parameters that boot the image from HTTP (live-boot fetches the squashfs). */
export function kernelParameters(squashfsUrl: string): string {
  return `boot=live fetch=${squashfsUrl} console=ttyS0,115200 console=tty0 panic=-1`;
}

export function imageDirFor(cacheDir: string, inputs: BuildInputs): string {
  return path.join(cacheDir, 'images', imageKey(inputs));
}

/** Builds (or finds in the cache) the image for `inputs`; returns its directory. */
export async function buildEphemeralImage(opts: BuildOptions): Promise<BuildResult> {
  const { inputs, cacheDir, stack } = opts;
  const key = imageKey(inputs);
  const imageDir = imageDirFor(cacheDir, inputs);
  let waiting: EventStack | undefined;
  return withFileLock(
    `${imageDir}.lock`,
    async () => {
      waiting?.finish('SUCCESS', 'the other build finished');
      const existing = opts.noCache ? undefined : await readManifest(imageDir);
      if (existing) {
        await stack.child('cache', `image ${key} found in ${imageDir}`).run(async () => undefined);
        return { dir: imageDir, manifest: existing, cached: true };
      }
      const manifest = await buildFresh(opts, key, imageDir);
      return { dir: imageDir, manifest, cached: false };
    },
    {
      onWait: (pid) => {
        waiting = stack.child('wait', `waiting for pid ${pid}, which builds the same image`);
        waiting.start();
      },
    },
  );
}

async function buildFresh(
  opts: BuildOptions,
  key: string,
  imageDir: string,
): Promise<ImageManifest> {
  const { runner, stack, inputs, cacheDir } = opts;
  const started = Date.now();
  await mkdir(path.join(cacheDir, 'work'), { recursive: true });
  await removeStaleWork(runner, path.join(cacheDir, 'work'));
  // The pid in the name lets a later build tell an abandoned work dir from a live one.
  const work = await mkdtemp(path.join(cacheDir, 'work', `build-${key}-${process.pid}-`));
  const cleanup = async () => {
    await unmountAllUnder(runner, work);
    await rm(work, { recursive: true, force: true });
  };
  opts.onWorkDir?.(cleanup);
  const root = path.join(work, 'root');
  const out = path.join(work, 'out');
  try {
    await mkdir(out);
    await stack.child('root', 'Debian root with packages').run((s) => prepareRoot(opts, root, s));
    await stack
      .child('configure', 'pxm runtime and ephemeral settings')
      .run(() => configureRoot(opts, root));
    const kernel = await stack
      .child('kernel', 'kernel and initrd')
      .run(
        async () =>
          (await runner.action({ kind: 'action', description: 'copy kernel and initrd' }, () =>
            copyKernel(root, out),
          )) ?? '',
      );
    const installed = parseDpkgList(
      (
        await runner.probe({
          argv: [
            'dpkg-query',
            `--admindir=${root}/var/lib/dpkg`,
            '-W',
            '-f',
            '${Package} ${Version}\n',
          ],
        })
      ).stdout,
    );
    await stack
      .child('squashfs', `squashfs root (${inputs.compression})`)
      .run(() => squash(opts, root, out));
    const pxmVersion = (
      await runner.probe({
        argv: [opts.nodeBinary, opts.bundlePath, '--version'],
        allowFailure: true,
      })
    ).stdout.trim();
    const manifest: ImageManifest = {
      format: 'pxm-ephemeral/1',
      key,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 100) / 10,
      suite: inputs.suite,
      mirror: inputs.mirror,
      compression: inputs.compression,
      packages: inputs.packages,
      installed,
      versions: {
        kernel,
        node: inputs.nodeVersion,
        pxm: pxmVersion,
        builderRevision: BUILDER_REVISION,
      },
      kernelParameters: kernelParameters('FETCH_URL'),
      files: await describeArtefacts(out),
    };
    await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Replace atomically: readers see the old complete image or the new one.
    await rm(imageDir, { recursive: true, force: true });
    await mkdir(path.dirname(imageDir), { recursive: true });
    await rename(out, imageDir);
    await pruneCache(cacheDir);
    return manifest;
  } finally {
    opts.onWorkDir?.(undefined);
    await cleanup();
  }
}

/**
 * Work dirs of builds that were killed (SIGKILL, power loss) before their `finally`:
 * unmounted and removed, so a crash never leaves mounts for long.
 */
async function removeStaleWork(runner: Runner, workRoot: string): Promise<void> {
  for (const name of await readdir(workRoot).catch(() => [] as string[])) {
    const pid = Number(/^build-[0-9a-f]+-(\d+)-/.exec(name)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    await unmountAllUnder(runner, path.join(workRoot, name));
    await rm(path.join(workRoot, name), { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Extracts the cached root tarball, or debootstraps + installs and caches it. */
async function prepareRoot(opts: BuildOptions, root: string, stack: EventStack): Promise<void> {
  const { runner, inputs, cacheDir } = opts;
  const tarball = path.join(cacheDir, 'roots', `${rootKey(inputs)}.tar.zst`);
  await mkdir(root);
  if (!opts.noCache && existsSync(tarball)) {
    await stack.child('extract', `cached root ${path.basename(tarball)}`).run(async () => {
      await runner.run({
        argv: [
          'tar',
          '--zstd',
          '-xpf',
          tarball,
          '-C',
          root,
          '--numeric-owner',
          '--xattrs',
          '--xattrs-include=*',
        ],
        description: 'extract the cached root',
      });
    });
    return;
  }
  const debs = path.join(cacheDir, 'debs');
  await mkdir(path.join(debs, 'partial'), { recursive: true });
  await stack
    .child('debootstrap', `debootstrap ${inputs.suite} from ${inputs.mirror}`)
    .run(async () => {
      await runner.run({
        argv: [
          'debootstrap',
          '--variant=minbase',
          `--cache-dir=${debs}`,
          inputs.suite,
          root,
          inputs.mirror,
        ],
        description: 'bootstrap a minimal Debian root',
      });
    });
  await stack.child('packages', `install ${inputs.packages.length} packages`).run(async () => {
    // No daemons start inside the chroot; dpkg skips fsync (the root is rebuilt on failure).
    await runner.action(
      { kind: 'write', path: '/usr/sbin/policy-rc.d', description: 'no daemons, unsafe-io' },
      async () => {
        await writeFile(path.join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', {
          mode: 0o755,
        });
        await writeFile(path.join(root, 'etc/dpkg/dpkg.cfg.d/pxm-unsafe-io'), 'force-unsafe-io\n');
      },
    );
    const env = { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
    await withChrootMounts(
      runner,
      root,
      [{ source: debs, target: 'var/cache/apt/archives' }],
      async () => {
        await runner.run({
          argv: ['chroot', root, 'apt-get', 'update'],
          env,
          description: 'apt-get update',
        });
        await runner.run({
          argv: [
            'chroot',
            root,
            'apt-get',
            'install',
            '-y',
            '--no-install-recommends',
            ...inputs.packages,
          ],
          env,
          description: 'install kernel, live-boot, cloud-init and storage tools',
        });
      },
    );
    await runner.action(
      { kind: 'action', description: 'remove the build-only dpkg settings' },
      async () => {
        await rm(path.join(root, 'usr/sbin/policy-rc.d'));
        await rm(path.join(root, 'etc/dpkg/dpkg.cfg.d/pxm-unsafe-io'));
      },
    );
  });
  await stack.child('cache-root', 'cache the installed root').run(async () => {
    await mkdir(path.dirname(tarball), { recursive: true });
    const tmp = `${tarball}.${process.pid}.tmp`;
    await runner.run({
      argv: [
        'tar',
        '--zstd',
        '-cpf',
        tmp,
        '-C',
        root,
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        '.',
      ],
      description: 'cache the installed root as a tarball',
    });
    await rename(tmp, tarball);
    await writeRootInfo(tarball);
  });
}

/** Node, the bundle, pxm's guest files, and the settings a netbooted root needs. */
async function configureRoot(opts: BuildOptions, root: string): Promise<void> {
  const { runner } = opts;
  await runner.action(
    { kind: 'write', path: '/usr/local/bin/node', description: 'Node runtime' },
    async () => {
      await copyFile(opts.nodeBinary, path.join(root, 'usr/local/bin/node'));
      await chmod(path.join(root, 'usr/local/bin/node'), 0o755);
    },
  );
  await runner.action(
    { kind: 'write', path: '/usr/local/lib/pxm/pxm.cjs', description: 'pxm bundle' },
    async () => {
      await mkdir(path.join(root, 'usr/local/lib/pxm'), { recursive: true });
      await copyFile(opts.bundlePath, path.join(root, 'usr/local/lib/pxm/pxm.cjs'));
    },
  );
  for (const f of guestFiles()) {
    await runner.action({ kind: 'write', path: `/${f.path}` }, async () => {
      const file = path.join(root, f.path);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, f.content);
      await chmod(file, f.mode);
    });
  }
  for (const [link, target] of GUEST_SYMLINKS) {
    await runner.action(
      { kind: 'write', path: `/${link}`, description: `symlink to ${target}` },
      async () => {
        const file = path.join(root, link);
        await mkdir(path.dirname(file), { recursive: true });
        await rm(file, { force: true });
        await symlink(target, file);
      },
    );
  }
  await runner.action(
    { kind: 'action', description: 'forget the build host (resolv.conf, machine-id, apt lists)' },
    async () => {
      // debootstrap copied the build host's resolv.conf and live-boot would keep it.
      await rm(path.join(root, 'etc/resolv.conf'), { force: true });
      // Empty (not absent): systemd generates a fresh id on every boot of the live root.
      await writeFile(path.join(root, 'etc/machine-id'), '');
      await rm(path.join(root, 'var/lib/dbus/machine-id'), { force: true });
      for (const dir of ['var/lib/apt/lists', 'var/cache/apt/archives']) {
        for (const name of await readdir(path.join(root, dir)).catch(() => [] as string[]))
          if (name !== 'partial' && name !== 'lock')
            await rm(path.join(root, dir, name), { recursive: true, force: true });
      }
      await writeFile(path.join(root, 'etc/hostname'), 'pxm-ephemeral\n');
    },
  );
  await trimRoot(runner, root);
}

/** Copies the newest kernel and its initrd out of /boot; returns the kernel version. */
async function copyKernel(root: string, out: string): Promise<string> {
  const names = await readdir(path.join(root, 'boot'));
  const kernels = names.filter((n) => n.startsWith('vmlinuz-')).sort();
  const kernel = kernels.at(-1);
  if (!kernel)
    throw new PxmError('the image root has no kernel in /boot (linux-image-amd64 not installed?)');
  const version = kernel.slice('vmlinuz-'.length);
  const initrd = `initrd.img-${version}`;
  if (!names.includes(initrd)) throw new PxmError(`the image root has no /boot/${initrd}`);
  await copyFile(path.join(root, 'boot', kernel), path.join(out, 'vmlinuz'));
  await copyFile(path.join(root, 'boot', initrd), path.join(out, 'initrd.img'));
  return version;
}

async function squash(opts: BuildOptions, root: string, out: string): Promise<void> {
  const comp =
    opts.inputs.compression === 'zstd'
      ? ['-comp', 'zstd', '-Xcompression-level', '3']
      : ['-comp', 'xz', '-Xbcj', 'x86'];
  await opts.runner.run({
    argv: [
      'mksquashfs',
      root,
      path.join(out, 'root.squashfs'),
      ...comp,
      '-noappend',
      '-quiet',
      '-no-progress',
      // /boot's kernel and initrd are served separately; the live root never needs them.
      '-wildcards',
      '-e',
      'boot/*',
    ],
    description: 'squash the root',
  });
}

export { ARTEFACTS };
