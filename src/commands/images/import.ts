// `pxm images import`: copy bootloaders and ephemeral images into the server's boot root
// (<data-dir>/boot) and record them with their sha256 in <data-dir>/boot-assets.json.
import { Flags } from '@oclif/core';
import path from 'node:path';
import { PxmCommand } from '../../cli/base-command.js';
import { Runner } from '../../runner/runner.js';
import {
  ASSETS_FILE,
  BOOT_ROOT,
  JsonAssetRegistry,
  executeImport,
  planImport,
} from '../../server/boot/assets.js';

export default class ImagesImport extends PxmCommand {
  static override description =
    'Register bootloaders and ephemeral images in the boot root of pxm server';
  static override examples = [
    '<%= config.bin %> images import --debian',
    '<%= config.bin %> images import --ephemeral /var/cache/pxm/images/KEY --arch amd64',
    '<%= config.bin %> images import --file ipxe.efi=./ipxe.efi --file bootaa64.efi=/srv/shimaa64.efi',
  ];
  static override flags = {
    'data-dir': Flags.string({
      description: 'server data directory',
      default: process.env.PXM_DATA_DIR ?? '/var/lib/pxm',
    }),
    debian: Flags.boolean({
      description:
        "import bootloaders installed by Debian's pxelinux, syslinux-common, shim-signed, grub-efi-amd64-signed and ipxe packages",
      default: false,
    }),
    file: Flags.string({
      description: 'NAME=PATH: import PATH as NAME in the boot root (repeatable)',
      multiple: true,
    }),
    ephemeral: Flags.string({
      description: 'directory holding vmlinuz, initrd.img, root.squashfs (and manifest.json)',
    }),
    arch: Flags.string({ description: 'architecture of --ephemeral', default: 'amd64' }),
    'dry-run': Flags.boolean({ description: 'print what would be copied', default: false }),
    json: Flags.boolean({ description: 'print the registry as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagesImport);
    const plan = await planImport({
      debian: flags.debian,
      files: flags.file ?? [],
      ephemeralDir: flags.ephemeral,
      arch: flags.arch,
    });
    for (const m of plan.missing)
      process.stderr.write(`skipped ${m.name}: package ${m.package} is not installed\n`);
    const runner = new Runner({
      dryRun: flags['dry-run'],
      onStep: (s) => {
        if (flags['dry-run'] && s.kind === 'write')
          this.log(`would write ${s.path} (${s.description ?? ''})`);
      },
    });
    const registry = new JsonAssetRegistry(path.join(flags['data-dir'], ASSETS_FILE));
    const assets = await executeImport(
      plan,
      path.join(flags['data-dir'], BOOT_ROOT),
      registry,
      runner,
    );
    if (flags['dry-run']) return;
    if (flags.json) {
      this.log(JSON.stringify(assets, null, 2));
      return;
    }
    for (const b of plan.bootloaders) this.log(`imported ${b.target} from ${b.source}`);
    if (plan.image)
      this.log(
        `imported ephemeral image for ${plan.image.arch} from ${path.dirname(plan.image.kernel.source)}`,
      );
  }
}
