// Which boot a node gets (MAAS's table, ../docs/boot.md):
//   unknown MAC                              -> enlist
//   NEW, COMMISSIONING, RELEASING            -> commission (ephemeral environment)
//   DEPLOYING with netboot on                -> install (ephemeral environment that installs)
//   DEPLOYING with netboot off, DEPLOYED     -> local disk
//   anything else (READY, FAILED_*, BROKEN)  -> power off
import type { BootNode, BootPurpose } from './types.js';

export function decideBoot(node: BootNode | undefined): BootPurpose {
  if (!node) return 'enlist';
  switch (node.status) {
    case 'NEW':
    case 'COMMISSIONING':
    case 'RELEASING':
      return 'commission';
    case 'DEPLOYING':
      return node.netbootEnabled ? 'install' : 'local';
    case 'DEPLOYED':
      return 'local';
    default:
      return 'poweroff';
  }
}

/** `amd64/generic` -> `amd64`; grub's cpu names map onto Debian architectures. */
export function baseArch(arch: string): string {
  const a = arch.split('/')[0]?.toLowerCase() ?? '';
  switch (a) {
    case 'x86_64':
    case 'i386':
    case 'i686':
    case 'x86':
      return 'amd64';
    case 'aarch64':
      return 'arm64';
    default:
      return a;
  }
}

/** Normalises `AA-BB-CC-DD-EE-FF`, `aa:bb:...`, `01-aa-bb-...` to `aa:bb:cc:dd:ee:ff`. */
export function normaliseMac(s: string): string | undefined {
  const m =
    /^(?:01[-:])?([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})$/i.exec(
      s,
    );
  return m ? m.slice(1).join(':').toLowerCase() : undefined;
}
