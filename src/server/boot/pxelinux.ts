// pxelinux configs. pxelinux asks for pxelinux.cfg/<uuid>, then 01-<mac>, then the
// client IP in hex shortened a digit at a time, then `default`. A known node gets its
// own config under 01-<mac>; everything else is "file not found" so that the loader
// falls through to `default`, which enlists.
import { ephemeralParams, bootUrl, imageFor, generatedFor } from './cmdline.js';
import { normaliseMac } from './decide.js';
import type { BootNode, BootPurpose, BootSettings } from './types.js';

export type PxelinuxRequest =
  { kind: 'mac'; mac: string } | { kind: 'default' } | { kind: 'other' };

/** Classifies the part after `pxelinux.cfg/`. */
export function parsePxelinuxName(name: string): PxelinuxRequest {
  if (name === 'default') return { kind: 'default' };
  if (/^01-([0-9a-f]{2}-){5}[0-9a-f]{2}$/i.test(name)) {
    const mac = normaliseMac(name);
    if (mac) return { kind: 'mac', mac };
  }
  return { kind: 'other' }; // uuid, hex IP prefixes, anything else
}

export function renderPxelinux(
  purpose: BootPurpose,
  node: BootNode | undefined,
  s: BootSettings,
  arch = node?.arch ?? 'amd64',
): string {
  const head = [generatedFor(node), `# purpose: ${purpose}`];
  if (purpose === 'local') {
    return [...head, 'DEFAULT local', 'LABEL local', '  LOCALBOOT 0', ''].join('\n');
  }
  if (purpose === 'poweroff') {
    // poweroff.c32 (syslinux-common) powers the machine off through APM/ACPI with no
    // kernel download at all.
    return [...head, 'DEFAULT poweroff', 'LABEL poweroff', '  COM32 poweroff.c32', ''].join('\n');
  }
  const img = imageFor(s, arch);
  const fetch = (p: string) =>
    s.pxelinuxFetch === 'http' ? bootUrl(s, p) : `/${p.replace(/^\/+/, '')}`;
  return [
    ...head,
    `DEFAULT ${purpose}`,
    `LABEL ${purpose}`,
    `  KERNEL ${fetch(img.kernel)}`,
    `  INITRD ${fetch(img.initrd)}`,
    `  APPEND ${ephemeralParams(s, purpose, node, arch)}`,
    // IPAPPEND 2 appends BOOTIF=01-<mac> of the interface that booted.
    '  IPAPPEND 2',
    '',
  ].join('\n');
}
