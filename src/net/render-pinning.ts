// MAC-to-name pinning: the NIC with MAC m is always called n, whatever the kernel's
// probe order or predictable-naming policy would say.
//
// Two forms, both from the same state: a udev rule file (the classic
// 70-persistent-net.rules, honoured by every udev/systemd since 2008 and what curtin
// writes) and systemd .link files (what netplan generates; `PermanentMACAddress=`
// needs systemd >= 245, so Debian 11+/Ubuntu 20.04+).
import type { RenderedFile } from './rendered.js';
import type { Interface, NetworkState } from './state.js';

export const UDEV_RULES_PATH = '/etc/udev/rules.d/70-persistent-net.rules';

export type PinningFormat = 'udev' | 'link';

/** Physical interfaces that must get their name from their MAC. */
export function pinnedInterfaces(state: NetworkState, includeByMac = false): Interface[] {
  return state.interfaces.filter(
    (i) => i.type === 'physical' && i.mac && (i.rename || (includeByMac && i.byMac)),
  );
}

export function renderPinning(
  state: NetworkState,
  formats: readonly PinningFormat[] = ['udev'],
  /** Also rename v2 devices matched by MAC to their id (ENI needs real names). */
  includeByMac = false,
): RenderedFile[] {
  const pinned = pinnedInterfaces(state, includeByMac);
  if (pinned.length === 0) return [];
  const files: RenderedFile[] = [];
  if (formats.includes('udev')) {
    const rules = pinned.map(
      // DRIVERS=="?*" skips VLANs and bonds, which share their parent's MAC.
      (i) =>
        `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${i.mac}", NAME="${i.name}"`,
    );
    files.push({
      path: UDEV_RULES_PATH,
      content:
        '# Written by pxm: pins interface names to MAC addresses.\n' + rules.join('\n') + '\n',
      mode: 0o644,
    });
  }
  if (formats.includes('link')) files.push(...pinned.map(linkFile));
  return files;
}

export function linkFile(i: Interface): RenderedFile {
  const lines = [
    '# Written by pxm: pins this interface name to its MAC address.',
    '[Match]',
    `PermanentMACAddress=${i.mac}`,
    '',
    '[Link]',
    `Name=${i.name}`,
    ...(i.mtu !== undefined ? [`MTUBytes=${i.mtu}`] : []),
  ];
  return {
    path: `/etc/systemd/network/10-pxm-${i.name}.link`,
    content: lines.join('\n') + '\n',
    mode: 0o644,
  };
}
