// `pxm images build-ephemeral`: the netboot environment (and the VM test bed) from the
// operator's own Debian mirror. Thin: parse flags, check preconditions, call src/images.
import { Flags } from '@oclif/core';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PxmCommand } from '../../cli/base-command.js';
import { Reporter } from '../../report/events.js';
import { Runner } from '../../runner/runner.js';
import { PxmError, ValidationError } from '../../util/errors.js';
import { defaultMirror } from '../../images/apt-sources.js';
import { ARTEFACTS } from '../../images/manifest.js';
import { resolveInputs, type Compression } from '../../images/inputs.js';

/** The bundle this command runs from; under tsx, the repository's built bundle. */
function defaultBundle(): string {
  const self = fileURLToPath(import.meta.url);
  return self.endsWith('.cjs') ? self : path.resolve(path.dirname(self), '../../../dist/pxm.cjs');
}

export default class ImagesBuildEphemeral extends PxmCommand {
  static override description =
    'Build the ephemeral netboot image (kernel, initrd, squashfs root) from a Debian mirror';
  static override flags = {
    suite: Flags.string({ default: 'bookworm', description: 'Debian suite' }),
    mirror: Flags.string({
      description: "Debian mirror URL (default: the one this machine's apt uses)",
    }),
    output: Flags.string({ description: 'copy the finished image into this directory' }),
    package: Flags.string({
      multiple: true,
      default: [],
      description: 'extra package to install (repeatable)',
    }),
    'cache-dir': Flags.string({
      description: 'cache of roots and images (default $PXM_CACHE_DIR or /var/cache/pxm)',
    }),
    compression: Flags.string({
      options: ['zstd', 'xz'],
      default: 'zstd',
      description: 'squashfs compression',
    }),
    'no-cache': Flags.boolean({
      default: false,
      description: 'rebuild the image even when cached',
    }),
    bundle: Flags.string({ description: 'pxm bundle to bake in (default: the running one)' }),
    json: Flags.boolean({ default: false, description: 'print the manifest as JSON' }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { buildEphemeralImage } = await import('../../images/build.js');
    const { StageProgress } = await import('../../images/progress.js');
    const { flags } = await this.parse(ImagesBuildEphemeral);
    const mirror = flags.mirror ?? (await defaultMirror());
    if (!mirror)
      throw new ValidationError(
        '--mirror',
        'not given and no Debian mirror found in /etc/apt/sources.list{,.d}',
      );
    const inputs = resolveInputs({
      suite: flags.suite,
      mirror,
      extraPackages: flags.package,
      compression: flags.compression as Compression,
      nodeVersion: process.version,
    });
    const bundlePath = path.resolve(flags.bundle ?? defaultBundle());
    if (!existsSync(bundlePath))
      throw new ValidationError('--bundle', `${bundlePath} does not exist`);
    if (process.getuid?.() !== 0)
      throw new PxmError('building an image needs root (debootstrap, chroot, mounts)', {
        hint: 'run it with sudo',
      });
    for (const tool of ['debootstrap', 'mksquashfs', 'chroot', 'tar', 'zstd'])
      if (
        !(
          await new Runner().probe({ argv: ['sh', '-c', `command -v ${tool}`], allowFailure: true })
        ).stdout
      )
        throw new PxmError(`${tool} is not installed`, {
          hint: 'apt-get install debootstrap squashfs-tools zstd',
        });

    const cacheDir = path.resolve(
      flags['cache-dir'] ?? process.env.PXM_CACHE_DIR ?? '/var/cache/pxm',
    );
    await mkdir(path.join(cacheDir, 'logs'), { recursive: true });
    const logPath = path.join(cacheDir, 'logs', `build-ephemeral-${process.pid}.log`);
    const log = createWriteStream(logPath);
    const runner = new Runner({
      output: { write: (chunk) => log.write(chunk) },
      onStep: (s) =>
        log.write(
          `\n### ${s.kind === 'exec' ? s.argv.join(' ') : s.kind === 'write' ? `write ${s.path}` : s.description}\n`,
        ),
    });
    const reporter = new Reporter([new StageProgress()], 'pxm');
    const stack = reporter.stack(
      'build-ephemeral',
      `ephemeral image ${inputs.suite} from ${inputs.mirror}`,
    );
    // Interrupted (Ctrl-C, SIGTERM): undo the chroot mounts and drop the work dir before
    // exiting; the children in our process group got the same signal from the terminal.
    let cleanup: (() => Promise<void>) | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`\npxm: ${signal}: cleaning up the build\n`);
      void (cleanup?.() ?? Promise.resolve()).finally(() =>
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15)),
      );
    };
    let keptLog: string | undefined;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await stack.run((s) =>
        buildEphemeralImage({
          inputs,
          cacheDir,
          bundlePath,
          nodeBinary: process.execPath,
          noCache: flags['no-cache'],
          runner,
          stack: s,
          onWorkDir: (c) => (cleanup = c),
        }),
      );
      // Keep one log per image actually built; a cache hit's log says nothing.
      keptLog = result.cached
        ? undefined
        : path.join(cacheDir, 'logs', `build-${result.manifest.key}.log`);
      let dir = result.dir;
      if (flags.output) {
        dir = path.resolve(flags.output);
        await mkdir(dir, { recursive: true });
        for (const name of [...ARTEFACTS, 'manifest.json'])
          await runner.run({
            argv: ['cp', '--reflink=auto', path.join(result.dir, name), path.join(dir, name)],
          });
      }
      if (flags.json)
        this.log(
          JSON.stringify({ dir, cached: result.cached, manifest: result.manifest }, null, 2),
        );
      else {
        const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
        const f = result.manifest.files;
        this.log(`${result.cached ? 'cached' : 'built'}: ${dir}`);
        this.log(
          `  kernel ${result.manifest.versions.kernel}, node ${result.manifest.versions.node}`,
        );
        this.log(
          `  vmlinuz ${mib(f.vmlinuz.size)}, initrd.img ${mib(f['initrd.img'].size)}, root.squashfs ${mib(f['root.squashfs'].size)}`,
        );
      }
    } catch (error) {
      keptLog = logPath;
      process.stderr.write(`build log: ${logPath}\n`);
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await reporter.flush();
      await new Promise((r) => log.end(r));
      if (keptLog === undefined) await rm(logPath, { force: true });
      else if (keptLog !== logPath) await rename(logPath, keptLog);
    }
  }
}
