// `pxm images list`: what the boot root holds, with sizes and checksums.
import { Flags } from '@oclif/core';
import path from 'node:path';
import { PxmCommand } from '../../cli/base-command.js';
import { ASSETS_FILE, JsonAssetRegistry, type FileRecord } from '../../server/boot/assets.js';

export default class ImagesList extends PxmCommand {
  static override description = 'List registered bootloaders and ephemeral images';
  static override flags = {
    'data-dir': Flags.string({
      description: 'server data directory',
      default: process.env.PXM_DATA_DIR ?? '/var/lib/pxm',
    }),
    json: Flags.boolean({ description: 'machine-readable output', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagesList);
    const assets = await new JsonAssetRegistry(path.join(flags['data-dir'], ASSETS_FILE)).read();
    if (flags.json) {
      this.log(JSON.stringify(assets, null, 2));
      return;
    }
    const rows: string[][] = [['KIND', 'NAME', 'SIZE', 'SHA256', 'SOURCE']];
    const row = (kind: string, name: string, f: FileRecord) =>
      rows.push([kind, name, String(f.size), f.sha256.slice(0, 16), f.source]);
    for (const [name, f] of Object.entries(assets.bootloaders).sort()) row('bootloader', name, f);
    for (const [arch, i] of Object.entries(assets.images).sort()) {
      row('kernel', arch, i.kernel);
      row('initrd', arch, i.initrd);
      row('squashfs', arch, i.squashfs);
    }
    if (rows.length === 1) {
      this.log('no boot assets registered (pxm images import --debian, --ephemeral DIR)');
      return;
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows)
      this.log(r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  '));
  }
}
