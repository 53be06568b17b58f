// What the ephemeral root leaves out. It lives in RAM (live-boot copies the squashfs into
// a tmpfs), every byte is downloaded at each boot, and it only enlists, commissions and
// installs machines: no graphics, sound, cameras, Wi-Fi or Bluetooth, no manuals.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';

/** Module trees under /lib/modules/<version>/kernel/ that provisioning never loads. */
export const DROPPED_MODULE_DIRS: readonly string[] = [
  'drivers/gpu',
  'drivers/media',
  'drivers/staging',
  'drivers/net/wireless',
  'drivers/bluetooth',
  'drivers/infiniband',
  'drivers/iio',
  'net/wireless',
  'net/mac80211',
  'net/bluetooth',
  'sound',
];

/** Documentation trees; `copyright` files stay (licences travel with the binaries). */
export const DROPPED_DOC_DIRS: readonly string[] = [
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
];

export async function trimRoot(runner: Runner, root: string): Promise<void> {
  await runner.action(
    { kind: 'action', description: 'drop unused kernel modules and manuals' },
    async () => {
      const modulesDir = path.join(root, 'lib/modules');
      for (const version of await readdir(modulesDir)) {
        for (const dir of DROPPED_MODULE_DIRS)
          await rm(path.join(modulesDir, version, 'kernel', dir), { recursive: true, force: true });
      }
      for (const dir of DROPPED_DOC_DIRS)
        await rm(path.join(root, dir), { recursive: true, force: true });
      const docs = path.join(root, 'usr/share/doc');
      for (const pkg of await readdir(docs).catch(() => [] as string[])) {
        for (const name of await readdir(path.join(docs, pkg)).catch(() => [] as string[]))
          if (name !== 'copyright')
            await rm(path.join(docs, pkg, name), { recursive: true, force: true });
      }
    },
  );
  // modules.dep must not name the removed modules, or modprobe would fail on them loudly.
  const modulesDir = path.join(root, 'lib/modules');
  for (const version of runner.dryRun ? [] : await readdir(modulesDir))
    await runner.run({ argv: ['depmod', '-b', root, version], description: `depmod ${version}` });
}
