// Kernel command lines and URLs for the ephemeral environment (pxm's live image, built by
// `pxm images build-ephemeral`: vmlinuz, initrd.img and root.squashfs fetched by
// live-boot). Pure string building; the bootloader renderers add BOOTIF their own way
// (pxelinux IPAPPEND 2, grub ${net_default_mac}, iPXE ${netX/mac}).
import { baseArch } from './decide.js';
import type { BootNode, BootPurpose, BootSettings, EphemeralImage } from './types.js';

export function bootUrl(s: BootSettings, relative: string): string {
  const p = s.bootPath.replace(/\/+$/, '');
  return `${s.httpBase}${p}/${relative.replace(/^\/+/, '')}`;
}

export function enlistPreseedUrl(s: BootSettings): string {
  return (
    s.enlistPreseedUrl ?? `${s.httpBase}/MAAS/metadata/latest/enlist-preseed/?op=get_enlist_preseed`
  );
}

export function nodePreseedUrl(s: BootSettings, nodeId: string): string {
  return s.nodePreseedUrl
    ? s.nodePreseedUrl(nodeId)
    : `${s.httpBase}/MAAS/metadata/latest/by-id/${encodeURIComponent(nodeId)}/?op=get_preseed`;
}

export class MissingImageError extends Error {
  constructor(readonly arch: string) {
    super(`no ephemeral image registered for architecture ${arch} (pxm images import)`);
    this.name = 'MissingImageError';
  }
}

export function imageFor(s: BootSettings, arch: string): EphemeralImage {
  const a = baseArch(arch);
  const img = s.images[a];
  if (!img) throw new MissingImageError(a);
  return img;
}

// Hostnames go onto a kernel command line and into config files: allow only what a
// hostname may contain, so a node record cannot inject parameters or config lines.
function safeHostname(h: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(h) ? h : undefined;
}

/**
 * The kernel parameters for an ephemeral boot (without BOOTIF). The `cc:...end_cc` hint
 * pins cloud-init to the MAAS datasource; cloud-config-url carries the preseed that holds
 * the node's OAuth tokens; log_host/log_port send the environment's syslog home.
 */
export function ephemeralParams(
  s: BootSettings,
  purpose: Exclude<BootPurpose, 'local' | 'poweroff'>,
  node: BootNode | undefined,
  arch: string,
): string {
  const img = imageFor(s, arch);
  const preseed = purpose === 'enlist' || !node ? enlistPreseedUrl(s) : nodePreseedUrl(s, node.id);
  const host = node ? safeHostname(node.hostname) : undefined;
  return [
    'nomodeset',
    'ro',
    'boot=live',
    `fetch=${bootUrl(s, img.squashfs)}`,
    ...(host ? [`hostname=${host}`] : []),
    `cloud-config-url=${preseed}`,
    "cc:{'datasource_list': ['MAAS']}end_cc",
    `log_host=${s.logHost}`,
    `log_port=${s.logPort}`,
    `pxm.purpose=${purpose}`,
    ...(img.extraParams ? [img.extraParams] : []),
  ].join(' ');
}
