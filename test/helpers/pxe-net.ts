// A private boot network for a qemu guest: one namespace holding a bridge with the
// server's address and a tap device for qemu. The bridge only reports carrier (and
// Node's os.networkInterfaces(), which pxm's DHCP uses to find its address, only lists
// running interfaces) once a port is up, and a tap is down until qemu opens it, so a
// veth pair is plugged into the bridge as a "keeper" port. Kernels without the bridge
// driver get the address directly on the tap; then the server can only start after
// qemu has opened the tap (`serverFirst` is false).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createNs, removeNs, uniqueTag } from './netns.js';

export interface PxeNet {
  ns: string;
  /** Interface pxm serves DHCP on (the bridge, or the tap without bridge support). */
  serveIf: string;
  tap: string;
  serverIp: string;
  /** True when the server can start before qemu opens the tap. */
  serverFirst: boolean;
  remove(): void;
}

function ipn(ns: string, ...args: string[]): void {
  execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function bridgeSupported(ns: string): boolean {
  try {
    ipn(ns, 'link', 'add', 'brprobe', 'type', 'bridge');
    ipn(ns, 'link', 'del', 'brprobe');
    return true;
  } catch {
    return false;
  }
}

export function createPxeNet(serverCidr: string, forceNoBridge = false): PxeNet {
  const tag = uniqueTag();
  const ns = createNs(`pxb-${tag}`);
  try {
    const tap = 'tap0';
    ipn(ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
    const serverIp = serverCidr.split('/')[0]!;
    if (!forceNoBridge && bridgeSupported(ns)) {
      // STP off (the default): ports forward at once, no 15 s listening/learning delay.
      ipn(ns, 'link', 'add', 'br0', 'type', 'bridge');
      ipn(ns, 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1');
      ipn(ns, 'link', 'set', 'keep0', 'master', 'br0');
      ipn(ns, 'link', 'set', tap, 'master', 'br0');
      for (const l of ['keep0', 'keep1', tap, 'br0']) ipn(ns, 'link', 'set', l, 'up');
      ipn(ns, 'addr', 'add', serverCidr, 'dev', 'br0');
      return { ns, serveIf: 'br0', tap, serverIp, serverFirst: true, remove: () => removeNs(ns) };
    }
    ipn(ns, 'addr', 'add', serverCidr, 'dev', tap);
    ipn(ns, 'link', 'set', tap, 'up');
    return { ns, serveIf: tap, tap, serverIp, serverFirst: false, remove: () => removeNs(ns) };
  } catch (e) {
    removeNs(ns);
    throw e;
  }
}

/** Whether `iface` in `ns` has carrier (a tap has it once qemu opened it). */
export function hasCarrier(ns: string, iface: string): boolean {
  try {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', ns, 'cat', `/sys/class/net/${iface}/carrier`],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return out.trim() === '1';
  } catch {
    return false;
  }
}

/** Reads a file that may not exist yet (qemu's serial log). */
export function readIfAny(file: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return '';
  }
}
