// iPXE script, served over HTTP by the controller (DHCP hands iPXE clients, user class
// "iPXE", an http URL to it, which breaks the chainload loop). Kernel and initrd come over
// HTTP, which is what makes large initrds fast.
import { bootUrl, ephemeralParams, imageFor, generatedFor } from './cmdline.js';
import type { BootNode, BootPurpose, BootSettings } from './types.js';

export function renderIpxe(
  purpose: BootPurpose,
  node: BootNode | undefined,
  s: BootSettings,
  arch = node?.arch ?? 'amd64',
): string {
  const head = ['#!ipxe', generatedFor(node), `# purpose: ${purpose}`];
  if (purpose === 'local') return [...head, 'exit', ''].join('\n');
  if (purpose === 'poweroff') return [...head, 'poweroff', ''].join('\n');
  const img = imageFor(s, arch);
  return [
    ...head,
    `kernel ${bootUrl(s, img.kernel)} initrd=initrd.img ${ephemeralParams(s, purpose, node, arch)} BOOTIF=01-\${netX/mac:hexhyp}`,
    `initrd --name initrd.img ${bootUrl(s, img.initrd)}`,
    'boot',
    '',
  ].join('\n');
}
