// The small view of a node that boot decisions need, and the server settings they are
// rendered with. The controller maps its store rows onto BootNode; nothing here reads the
// store, so every function in this folder is pure and testable without a server.

export interface BootNode {
  id: string;
  hostname: string;
  /** Lower-case, colon-separated MAC addresses. */
  macs: readonly string[];
  /** Lifecycle status (src/server/lifecycle.ts NodeStatus), e.g. NEW, DEPLOYING. */
  status: string;
  /** Off once the installer has finished: the node must now boot from its disk. */
  netbootEnabled: boolean;
  /** MAAS architecture, e.g. `amd64/generic` or `arm64`. */
  arch: string;
}

export type BootPurpose = 'enlist' | 'commission' | 'install' | 'local' | 'poweroff';

/** The ephemeral environment for one architecture (paths relative to the boot root). */
export interface EphemeralImage {
  kernel: string;
  initrd: string;
  squashfs: string;
  /** Extra kernel parameters the image needs (console=...), without boot=/fetch=. */
  extraParams?: string;
}

export interface BootSettings {
  /** The controller's HTTP base, e.g. `http://10.0.0.1:5248` (no trailing slash). */
  httpBase: string;
  /** URL path under httpBase where the boot root is served over HTTP, e.g. `/boot`. */
  bootPath: string;
  /** Remote syslog target for the ephemeral environment. */
  logHost: string;
  logPort: number;
  /** Ephemeral images by base architecture (`amd64`, `arm64`). */
  images: Readonly<Record<string, EphemeralImage>>;
  /**
   * How pxelinux fetches kernel and initrd: `http` needs lpxelinux.0 (MAAS does this),
   * `tftp` works with plain pxelinux.0. grub always uses TFTP paths unless `grubHttp`.
   */
  pxelinuxFetch: 'http' | 'tftp';
  grubHttp: boolean;
  /** Override the preseed URLs (defaults follow MAAS's metadata paths). */
  enlistPreseedUrl?: string;
  nodePreseedUrl?: (nodeId: string) => string;
}

export const defaultBootSettings = (httpBase: string, logHost: string): BootSettings => ({
  httpBase,
  bootPath: '/boot',
  logHost,
  logPort: 514,
  images: {},
  pxelinuxFetch: 'http',
  grubHttp: false,
});
