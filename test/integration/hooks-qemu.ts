// Boots an installed disk image in a fresh qemu (TCG, serial console to a file, bounded
// by `timeout`) and waits until the console shows what the caller wants, or qemu ends.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

// ~35-40 s measured on an idle machine; 234 s seen with load 9 on the 2 shared cores
// (three other TCG guests), so the bound leaves room for that.
export const BOOT_LIMIT_S = 600;

export async function bootDisk(opts: {
  image: string;
  log: string;
  mac: string;
  /** Extra qemu arguments (OVMF pflash for UEFI). */
  extra?: string[];
  done: (console: string) => boolean;
}): Promise<string> {
  const qemu = spawn(
    'timeout',
    [
      String(BOOT_LIMIT_S),
      'qemu-system-x86_64',
      ...['-accel', 'tcg', '-smp', '1', '-m', '1024', '-display', 'none'],
      ...['-serial', `file:${opts.log}`, '-snapshot'],
      ...['-drive', `file=${opts.image},format=raw,if=virtio`],
      ...['-nic', `user,model=virtio-net-pci,mac=${opts.mac}`],
      ...(opts.extra ?? []),
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  qemu.on('exit', () => (exited = true));
  try {
    for (;;) {
      const text = existsSync(opts.log) ? readFileSync(opts.log, 'utf8') : '';
      if (opts.done(text) || exited) return text;
      await sleep(2000);
    }
  } finally {
    if (!exited) {
      qemu.kill('SIGTERM');
      await new Promise((r) => qemu.once('exit', r));
    }
  }
}

/** The install config's write_files that give a serial console and show the address. */
/** Config lines: eth0 (matched by MAC) with a static /24 address, gateway qemu's user net. */
export function staticEth0(mac: string, addr: string): string[] {
  return [
    'network:',
    '  version: 1',
    '  config:',
    `    - {type: physical, name: eth0, mac_address: "${mac}",`,
    `       subnets: [{type: static, address: ${addr}/24, gateway: 10.0.2.2}]}`,
  ];
}

export const SERIAL_AND_ISSUE = [
  'write_files:',
  '  serial:',
  '    path: /etc/default/grub.d/90-serial.cfg',
  '    content: |',
  '      GRUB_CMDLINE_LINUX="console=ttyS0,115200"',
  '      GRUB_TERMINAL=serial',
  '      GRUB_TIMEOUT=0',
  '  issue:',
  '    path: /etc/issue',
  // agetty expands \4{eth0} to the NIC's IPv4 address (and redraws when it changes).
  '    content: "Debian \\\\n addr=\\\\4{eth0}\\n\\n"',
];
