// A qemu guest that netboots on a tap device (SeaBIOS + Debian's iPXE ROM for virtio-net),
// its serial console logged to a file and, optionally, writable through a unix socket so
// a test can type at the iPXE prompt. Bounded by `timeout`; stop() kills it by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import net from 'node:net';
import { readIfAny } from './pxe-net.js';

export interface Guest {
  console(): string;
  exited(): boolean;
  /** Resolves when `re` shows on the console, the guest exits or `ms` pass; true if seen. */
  waitFor(re: RegExp, ms: number): Promise<boolean>;
  /** Types a line on the serial console, then Enter (needs `socket`); retries garbled lines. */
  type(text: string): Promise<void>;
  /** Sends one key, e.g. Ctrl-B (needs `socket`). */
  key(ch: string): Promise<void>;
  stop(): Promise<void>;
}

export interface GuestOptions {
  ns: string;
  tap: string;
  mac: string;
  logFile: string;
  seconds: number;
  /** Serial through a unix socket at this path, so the test can send keys. */
  socket?: string;
  /** Guest RAM; default 1024. The ephemeral image keeps its squashfs in RAM: give it 2048. */
  memoryMiB?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startGuest(o: GuestOptions): Promise<Guest> {
  const serial = o.socket
    ? ['-chardev', `socket,id=s0,path=${o.socket},server=on,wait=off`, '-serial', 'chardev:s0']
    : ['-serial', `file:${o.logFile}`];
  // ip netns exec execs `timeout`, which passes our SIGTERM on to qemu.
  const proc: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      o.ns,
      'timeout',
      '--kill-after=10',
      String(o.seconds),
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-smp',
      '1',
      '-m',
      String(o.memoryMiB ?? 1024),
      '-machine',
      'pc,graphics=off',
      '-display',
      'none',
      ...serial,
      '-netdev',
      `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${o.mac}`,
      '-boot',
      'n',
      '-no-reboot',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let done = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => ((done = true), r())));

  let sock: net.Socket | undefined;
  if (o.socket) {
    const path = o.socket;
    for (let i = 0; i < 100 && !sock; i++) {
      sock = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect(path, () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!sock) await sleep(100);
    }
    if (!sock) throw new Error(`qemu serial socket ${path} did not appear: ${stderr}`);
    // The socket is the console: qemu's chardev `logfile=` beside a socket garbled
    // the text here (dropped and repeated bytes), so the log is written from the stream.
    sock.on('data', (d: Buffer) => appendFileSync(o.logFile, d));
    sock.on('error', () => {});
  }

  const guest: Guest = {
    // Without terminal escapes (pxelinux draws its progress with cursor moves).
    console: () =>
      // eslint-disable-next-line no-control-regex
      readIfAny(o.logFile).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') +
      (done && stderr ? `\n[qemu stderr] ${stderr}` : ''),
    exited: () => done,
    async waitFor(re, ms) {
      const end = Date.now() + ms;
      while (!done && Date.now() < end) {
        if (re.test(readIfAny(o.logFile))) return true;
        await sleep(250);
      }
      return re.test(readIfAny(o.logFile));
    },
    async type(text) {
      if (!sock) throw new Error('guest started without a serial socket');
      // One key at a time, and check the echo before Enter: the BIOS serial console
      // drops keys when the host is busy. Ctrl-U clears a garbled line for a retry.
      for (let attempt = 0; attempt < 4; attempt++) {
        const before = readIfAny(o.logFile).length;
        for (const ch of text) {
          sock.write(ch);
          await sleep(60);
        }
        await sleep(300);
        if (readIfAny(o.logFile).slice(before).includes(text)) break;
        sock.write('\u0015');
        await sleep(300);
      }
      sock.write('\r');
    },
    async key(ch) {
      if (!sock) throw new Error('guest started without a serial socket');
      sock.write(ch);
      await sleep(100);
    },
    async stop() {
      sock?.destroy();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      // `timeout --kill-after` sends qemu SIGKILL if SIGTERM has not ended it in 10 s
      // (killing `timeout` itself would orphan qemu).
      await exit;
    },
  };
  return guest;
}
