// The boot assets registry: which bootloaders and ephemeral images the boot root holds,
// with their sha256. Stored as one JSON file in the data dir behind a small interface, so
// the controller's store can take it over without touching the importer.
//
// Import is plan-then-execute: `planImport` checks every source (exists, regular file,
// safe target name, manifest checksums) and returns copy steps; `executeImport` copies
// them through the Runner (temp file + rename, hashing while copying) and records them.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Runner } from '../../runner/runner.js';
import { ValidationError } from '../../util/errors.js';
import { normaliseTftpPath } from '../tftp/static-root.js';
import type { EphemeralImage } from './types.js';

export interface FileRecord {
  /** Path relative to the boot root (also its TFTP name and HTTP path under the boot path). */
  path: string;
  sha256: string;
  size: number;
  source: string;
  importedAt: string;
}

export interface ImageRecord {
  arch: string;
  kernel: FileRecord;
  initrd: FileRecord;
  squashfs: FileRecord;
  /** Kernel parameters the image needs besides boot=/fetch= (from its manifest). */
  extraParams: string;
}

export interface BootAssets {
  format: 'pxm-boot-assets/1';
  bootloaders: Record<string, FileRecord>;
  images: Record<string, ImageRecord>;
}

export interface AssetRegistry {
  /** Where it lives, for messages and the plan. */
  readonly location: string;
  read(): Promise<BootAssets>;
  write(assets: BootAssets): Promise<void>;
}

export const emptyAssets = (): BootAssets => ({
  format: 'pxm-boot-assets/1',
  bootloaders: {},
  images: {},
});

export const ASSETS_FILE = 'boot-assets.json';
export const BOOT_ROOT = 'boot';

export class JsonAssetRegistry implements AssetRegistry {
  constructor(readonly file: string) {}

  get location(): string {
    return this.file;
  }

  async read(): Promise<BootAssets> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyAssets();
      throw e;
    }
    const doc = JSON.parse(text) as BootAssets;
    if (doc.format !== 'pxm-boot-assets/1') {
      throw new ValidationError(
        this.file,
        `format: expected pxm-boot-assets/1, found ${String(doc.format)}`,
      );
    }
    return doc;
  }

  async write(assets: BootAssets): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(assets, null, 2) + '\n', { mode: 0o644 });
    await rename(tmp, this.file);
  }
}

/** Bootloader files from Debian packages: target name -> candidate paths. */
export const DEBIAN_BOOTLOADERS: ReadonlyArray<{ name: string; package: string; paths: string[] }> =
  [
    { name: 'pxelinux.0', package: 'pxelinux', paths: ['/usr/lib/PXELINUX/pxelinux.0'] },
    { name: 'lpxelinux.0', package: 'pxelinux', paths: ['/usr/lib/PXELINUX/lpxelinux.0'] },
    ...['ldlinux.c32', 'libcom32.c32', 'libutil.c32', 'menu.c32', 'chain.c32', 'poweroff.c32'].map(
      (n) => ({
        name: n,
        package: 'syslinux-common',
        paths: [`/usr/lib/syslinux/modules/bios/${n}`],
      }),
    ),
    // shim (signed by Microsoft) loads grubx64.efi from the same directory.
    { name: 'bootx64.efi', package: 'shim-signed', paths: ['/usr/lib/shim/shimx64.efi.signed'] },
    {
      name: 'grubx64.efi',
      package: 'grub-efi-amd64-signed',
      paths: ['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed'],
    },
    { name: 'undionly.kpxe', package: 'ipxe', paths: ['/usr/lib/ipxe/undionly.kpxe'] },
    {
      name: 'ipxe.efi',
      package: 'ipxe',
      paths: ['/usr/lib/ipxe/ipxe.efi', '/usr/lib/ipxe/snponly.efi'],
    },
  ];

export interface CopyStep {
  source: string;
  /** Relative to the boot root. */
  target: string;
  /** Expected sha256 (from an image manifest), checked while copying. */
  expectSha256?: string;
}

export interface ImportPlan {
  bootloaders: CopyStep[];
  image?: {
    arch: string;
    kernel: CopyStep;
    initrd: CopyStep;
    squashfs: CopyStep;
    extraParams: string;
  };
  /** Debian bootloaders not installed on this machine (skipped, reported). */
  missing: Array<{ name: string; package: string }>;
}

export interface ImportRequest {
  debian: boolean;
  /** `NAME=PATH` given on the command line. */
  files: string[];
  ephemeralDir?: string;
  arch: string;
}

async function regularFile(where: string, p: string): Promise<number> {
  const st = await stat(p).catch(() => undefined);
  if (!st) throw new ValidationError(where, `${p} does not exist`);
  if (!st.isFile()) throw new ValidationError(where, `${p} is not a regular file`);
  return st.size;
}

function safeTarget(where: string, name: string): string {
  const n = normaliseTftpPath(name, '/nonexistent-root');
  if ('error' in n || n.relative !== name.replace(/^\/+/, '')) {
    throw new ValidationError(where, `"${name}" is not a plain relative path inside the boot root`);
  }
  if (n.relative.startsWith('images/') || /(^|\/)(pxelinux\.cfg|grub)\//.test(n.relative)) {
    throw new ValidationError(where, `"${name}" is reserved for generated files and images`);
  }
  return n.relative;
}

/** `boot=live fetch=FETCH_URL console=ttyS0 panic=-1` -> `console=ttyS0 panic=-1`. */
export function extraParamsFrom(kernelParameters: string): string {
  return kernelParameters
    .split(/\s+/)
    .filter((t) => t && !/^(boot|fetch)=/.test(t))
    .join(' ');
}

interface ManifestLike {
  key?: unknown;
  kernelParameters?: unknown;
  files?: Record<string, { sha256?: unknown }>;
}

export async function planImport(req: ImportRequest): Promise<ImportPlan> {
  const plan: ImportPlan = { bootloaders: [], missing: [] };
  if (!req.debian && req.files.length === 0 && !req.ephemeralDir) {
    throw new ValidationError(
      'pxm images import',
      'nothing to import: give --debian, --file or --ephemeral',
    );
  }
  if (req.debian) {
    for (const b of DEBIAN_BOOTLOADERS) {
      let found: string | undefined;
      for (const p of b.paths) {
        if ((await stat(p).catch(() => undefined))?.isFile()) {
          found = p;
          break;
        }
      }
      if (found) plan.bootloaders.push({ source: found, target: b.name });
      else plan.missing.push({ name: b.name, package: b.package });
    }
  }
  for (const [i, spec] of req.files.entries()) {
    const where = `--file[${i}]`;
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new ValidationError(where, `"${spec}" is not NAME=PATH`);
    const target = safeTarget(where, spec.slice(0, eq));
    const source = path.resolve(spec.slice(eq + 1));
    await regularFile(where, source);
    plan.bootloaders = plan.bootloaders.filter((b) => b.target !== target);
    plan.bootloaders.push({ source, target });
  }
  if (req.ephemeralDir) {
    const dir = path.resolve(req.ephemeralDir);
    if (!/^[a-z0-9]+$/.test(req.arch))
      throw new ValidationError('--arch', `"${req.arch}" is not an architecture name`);
    let manifest: ManifestLike | undefined;
    try {
      manifest = JSON.parse(
        await readFile(path.join(dir, 'manifest.json'), 'utf8'),
      ) as ManifestLike;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ValidationError(
          path.join(dir, 'manifest.json'),
          `unreadable: ${(e as Error).message}`,
        );
      }
    }
    // Each import goes to its own directory, so a half-finished import never mixes a new
    // kernel with an old initrd; the registry switches to it only at the end.
    const key = manifest?.key;
    const version =
      typeof key === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(key)
        ? key
        : new Date().toISOString().replace(/[-:.]/g, '');
    const step = async (file: string): Promise<CopyStep> => {
      const source = path.join(dir, file);
      await regularFile(`--ephemeral ${dir}`, source);
      const sha = manifest?.files?.[file]?.sha256;
      return {
        source,
        target: `images/${req.arch}/${version}/${file}`,
        ...(typeof sha === 'string' ? { expectSha256: sha } : {}),
      };
    };
    const kp = manifest?.kernelParameters;
    plan.image = {
      arch: req.arch,
      kernel: await step('vmlinuz'),
      initrd: await step('initrd.img'),
      squashfs: await step('root.squashfs'),
      extraParams:
        typeof kp === 'string' ? extraParamsFrom(kp) : 'console=ttyS0,115200 console=tty0',
    };
  }
  return plan;
}

/** Copies `source` to `dest` through a temp file, hashing on the way; returns sha256 and size. */
async function copyHashed(
  source: string,
  dest: string,
  expectSha256: string | undefined,
): Promise<{ sha256: string; size: number }> {
  await mkdir(path.dirname(dest), { recursive: true, mode: 0o755 });
  const tmp = `${dest}.${process.pid}.tmp`;
  const h = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(source), tap, createWriteStream(tmp, { mode: 0o644 }));
    const sha256 = h.digest('hex');
    // Checked before the rename, so a corrupt copy never replaces a good file.
    if (expectSha256 && sha256 !== expectSha256) {
      throw new ValidationError(
        source,
        `sha256 ${sha256} does not match the image manifest (${expectSha256})`,
      );
    }
    await rename(tmp, dest);
    return { sha256, size };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function executeImport(
  plan: ImportPlan,
  bootRoot: string,
  registry: AssetRegistry,
  runner: Runner,
): Promise<BootAssets> {
  const assets = await registry.read();
  const now = new Date().toISOString();
  const copy = async (s: CopyStep): Promise<FileRecord> => {
    const dest = path.join(bootRoot, s.target);
    const r = await runner.action(
      { kind: 'write', path: dest, description: `copy ${s.source}` },
      () => copyHashed(s.source, dest, s.expectSha256),
    );
    const got = r ?? { sha256: '(dry-run)', size: 0 };
    return { path: s.target, ...got, source: s.source, importedAt: now };
  };
  for (const b of plan.bootloaders) assets.bootloaders[b.target] = await copy(b);
  if (plan.image) {
    const i = plan.image;
    assets.images[i.arch] = {
      arch: i.arch,
      kernel: await copy(i.kernel),
      initrd: await copy(i.initrd),
      squashfs: await copy(i.squashfs),
      extraParams: i.extraParams,
    };
  }
  await runner.action(
    { kind: 'write', path: registry.location, description: 'record imported assets' },
    () => registry.write(assets),
  );
  return assets;
}

/** The images part of BootSettings, from the registry. */
export function bootImages(assets: BootAssets): Record<string, EphemeralImage> {
  const out: Record<string, EphemeralImage> = {};
  for (const [arch, i] of Object.entries(assets.images)) {
    out[arch] = {
      kernel: i.kernel.path,
      initrd: i.initrd.path,
      squashfs: i.squashfs.path,
      extraParams: i.extraParams,
    };
  }
  return out;
}
