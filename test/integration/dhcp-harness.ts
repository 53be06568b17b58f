// Shared pieces of the DHCP namespace tests: start `pxm server --dhcp` inside a namespace,
// run raw probes (dhcp-probe.mjs) and busybox udhcpc there, build request packets.
import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundlePath } from '../helpers/pxm.js';
import { nsSpawn } from '../helpers/netns.js';
import {
  decodePacket,
  encodePacket,
  type DhcpOption,
  type DhcpPacket,
} from '../../src/server/dhcp/packet.js';
import { clientPacket } from '../helpers/dhcp-request.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface PxmProc {
  proc: ChildProcess;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How long start-up and a SIGTERM shutdown may take before the harness gives up. */
const START_MS = 90_000;
const STOP_MS = 30_000;

/**
 * Starts pxm server in `ns`; resolves once it reports listening, rejects on exit or after
 * START_MS. Both start and stop are bounded, so a server that hangs fails the test with
 * its log instead of running into the test's own timeout with nothing to show.
 */
export function startPxm(ns: string, args: string[]): Promise<PxmProc> {
  const proc = nsSpawn(ns, [process.execPath, bundlePath, 'server', ...args]);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const handle: PxmProc = {
    proc,
    log: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_MS)));
      const code = await Promise.race([exited, late]).finally(() => clearTimeout(timer));
      if (code !== 'late') return code;
      proc.kill('SIGKILL');
      await exited;
      throw new Error(`pxm server did not exit within ${STOP_MS} ms of ${signal}:\n${out}`);
    },
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const t = setInterval(() => {
      if (/listening on http/.test(out)) {
        clearInterval(t);
        resolve(handle);
      } else if (Date.now() - started > START_MS) {
        clearInterval(t);
        proc.kill('SIGKILL');
        reject(new Error(`pxm server did not start within ${START_MS} ms:\n${out}`));
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(t);
      reject(new Error(`pxm server exited ${code}:\n${out}`));
    });
  });
}

export interface ProbeReply {
  from: string;
  port: number;
  packet: DhcpPacket;
}

export interface ProbeSend {
  to: { address: string; port: number };
  bytes: Buffer;
  pauseMs?: number;
}

/** Sends raw datagrams from `bind` inside `ns` and returns the decoded replies. */
export async function probe(
  ns: string,
  bind: { address: string; port: number },
  send: ProbeSend[],
  listenMs = 1500,
): Promise<ProbeReply[]> {
  const spec = {
    bind,
    listenMs,
    send: send.map((s) => ({ to: s.to, hex: s.bytes.toString('hex'), pauseMs: s.pauseMs })),
  };
  const { stdout } = await run(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      path.join(here, 'dhcp-probe.mjs'),
      JSON.stringify(spec),
    ],
    {
      timeout: listenMs + 20_000,
    },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { from: string; port: number; hex: string })
    .map((r) => ({ from: r.from, port: r.port, packet: decodePacket(Buffer.from(r.hex, 'hex')) }));
}

export function request(
  macLast: number,
  type: number,
  opts: DhcpOption[] = [],
  over: Partial<DhcpPacket> = {},
): Buffer {
  return encodePacket(
    clientPacket([0x02, 0x42, 0xac, 0x11, 0x00, macLast], type, opts, {
      xid: (0x1000 + macLast) * 7,
      flags: 0x8000,
      ...over,
    }),
  );
}

export interface UdhcpcResult {
  events: Array<Record<string, string>>;
  output: string;
}

/**
 * busybox udhcpc once (-q: quit after the lease) with extra args; its script prints one
 * line per event with the variables the tests check.
 */
export async function udhcpcOnce(
  ns: string,
  iface: string,
  script: string,
  extra: string[],
): Promise<UdhcpcResult> {
  const r = await run(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'busybox',
      'udhcpc',
      '-i',
      iface,
      '-f',
      '-q',
      '-n',
      '-t',
      '4',
      '-T',
      '2',
      '-A',
      '1',
      '-s',
      script,
      ...extra,
    ],
    { timeout: 40_000 },
  ).catch((e: { stdout?: string; stderr?: string }) => ({
    stdout: e.stdout ?? '',
    stderr: e.stderr ?? '',
  }));
  return { events: parseEvents(r.stdout), output: r.stdout + r.stderr };
}

export function parseEvents(out: string): Array<Record<string, string>> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('EVENT '))
    .map((l) =>
      Object.fromEntries(
        l
          .slice(6)
          .split(' ')
          .map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]),
      ),
    );
}

export const UDHCPC_SCRIPT = `#!/bin/sh
echo "EVENT event=$1 ip=$ip siaddr=$siaddr boot_file=$boot_file lease=$lease router=$router serverid=$serverid"
`;
