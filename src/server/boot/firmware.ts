// What a client should load first, from DHCP option 93 (client architecture) and option
// 77 (user class). The DHCP server hands out the answer as the boot file name (TFTP) or
// an http URL (UEFI HTTP boot, iPXE). Pure; file names are settings of the boot root.
import { bootUrl } from './cmdline.js';
import type { BootSettings } from './types.js';

export interface LoaderNames {
  /** BIOS: lpxelinux.0 can fetch config/kernels over HTTP. */
  bios: string;
  uefiX64: string;
  uefiArm64: string;
  /** Loaded over HTTP by UEFI HTTP boot clients. */
  httpX64: string;
  httpArm64: string;
  /** Path of the iPXE script on the controller's HTTP server. */
  ipxeScriptPath: string;
}

export const DEFAULT_LOADERS: LoaderNames = {
  bios: 'lpxelinux.0',
  uefiX64: 'bootx64.efi',
  uefiArm64: 'bootaa64.efi',
  httpX64: 'ipxe.efi',
  httpArm64: 'ipxe-arm64.efi',
  ipxeScriptPath: '/boot/ipxe',
};

export type BootFile =
  | { via: 'tftp'; file: string }
  | { via: 'http'; url: string; vendorClass: 'HTTPClient' | undefined }
  | { via: 'none'; reason: string };

export function bootFileFor(
  clientArch: number,
  userClass: string | undefined,
  s: BootSettings,
  names: LoaderNames = DEFAULT_LOADERS,
): BootFile {
  if (userClass === 'iPXE') {
    // Already running iPXE: give it the script, never iPXE again (chainload loop).
    return { via: 'http', url: `${s.httpBase}${names.ipxeScriptPath}`, vendorClass: undefined };
  }
  switch (clientArch) {
    case 0:
      return { via: 'tftp', file: names.bios };
    case 6: // EFI IA32: not supported by the images pxm builds
      return { via: 'none', reason: 'EFI IA32 is not supported' };
    case 7:
    case 9:
      return { via: 'tftp', file: names.uefiX64 };
    case 11:
      return { via: 'tftp', file: names.uefiArm64 };
    case 16:
      // HTTP boot answers must carry vendor class "HTTPClient" or the firmware ignores them.
      return { via: 'http', url: bootUrl(s, names.httpX64), vendorClass: 'HTTPClient' };
    case 19:
      return { via: 'http', url: bootUrl(s, names.httpArm64), vendorClass: 'HTTPClient' };
    default:
      return { via: 'none', reason: `unsupported client architecture ${clientArch}` };
  }
}
