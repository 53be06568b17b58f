// What an ephemeral image is made of, and the cache keys derived from it.
//
// Two caches, two keys: the installed root (a tarball after debootstrap + apt) depends
// only on suite, mirror, package list and builder revision; the final artefacts also
// depend on the Node runtime baked in and the squashfs compression. The pxm bundle is in
// neither key on purpose: the VM harness injects the working tree's bundle at boot, so a
// commit never forces an image rebuild (bump BUILDER_REVISION when the builder changes).
import { createHash } from 'node:crypto';
import { ValidationError } from '../util/errors.js';

/** Bump when debootstrap or the package installation step changes (invalidates roots). */
export const ROOT_REVISION = 1;
/** Bump when anything the builder writes into the image after installing packages changes. */
export const BUILDER_REVISION = 3;

/** Always installed: kernel, live boot from HTTP, init, cloud-init, the tools pxm drives. */
export const BASE_PACKAGES: readonly string[] = [
  'linux-image-amd64',
  'live-boot',
  'live-boot-initramfs-tools',
  'initramfs-tools',
  'busybox',
  'systemd-sysv',
  'udev',
  'kmod',
  'cloud-init',
  'ca-certificates',
  'curl',
  'iproute2',
  'isc-dhcp-client',
  'procps',
  'libstdc++6',
  'fdisk',
  'gdisk',
  'parted',
  'e2fsprogs',
  'xfsprogs',
  'btrfs-progs',
  'dosfstools',
  'mtools',
  'lvm2',
  'mdadm',
  'cryptsetup',
  'util-linux',
  'tar',
  'zstd',
  'xz-utils',
  'gzip',
];

export type Compression = 'zstd' | 'xz';

export interface BuildInputs {
  suite: string;
  mirror: string;
  /** Sorted, unique: BASE_PACKAGES plus the user's extras. */
  packages: string[];
  compression: Compression;
  /** `process.version` of the Node copied into the image. */
  nodeVersion: string;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const SUITE_NAME = /^[a-z][a-z0-9-]*$/;

/** Validates user input before anything runs; errors name the flag. */
export function resolveInputs(opts: {
  suite: string;
  mirror: string;
  extraPackages: readonly string[];
  compression: string;
  nodeVersion: string;
}): BuildInputs {
  if (!SUITE_NAME.test(opts.suite))
    throw new ValidationError('--suite', `"${opts.suite}" is not a Debian suite name`);
  let url: URL;
  try {
    url = new URL(opts.mirror);
  } catch {
    throw new ValidationError('--mirror', `"${opts.mirror}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'file:')
    throw new ValidationError('--mirror', `"${opts.mirror}" must be http, https or file`);
  for (const p of opts.extraPackages)
    if (!PACKAGE_NAME.test(p))
      throw new ValidationError('--package', `"${p}" is not a Debian package name`);
  if (opts.compression !== 'zstd' && opts.compression !== 'xz')
    throw new ValidationError('--compression', `"${opts.compression}" must be zstd or xz`);
  const packages = [...new Set([...BASE_PACKAGES, ...opts.extraPackages])].sort();
  return {
    suite: opts.suite,
    mirror: opts.mirror.replace(/\/+$/, ''),
    packages,
    compression: opts.compression,
    nodeVersion: opts.nodeVersion,
  };
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Key of the installed root tarball. */
export function rootKey(i: BuildInputs): string {
  return digest({ r: ROOT_REVISION, suite: i.suite, mirror: i.mirror, packages: i.packages });
}

/** Key of the finished image (kernel, initrd, squashfs, manifest). */
export function imageKey(i: BuildInputs): string {
  return digest({
    root: rootKey(i),
    b: BUILDER_REVISION,
    node: i.nodeVersion,
    compression: i.compression,
  });
}
