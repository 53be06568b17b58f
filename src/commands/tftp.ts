import { Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { stat } from 'node:fs/promises';
import { PxmCommand } from '../cli/base-command.js';
import { ValidationError } from '../util/errors.js';
import type { TftpEvent, TftpListen } from '../server/tftp/server.js';

/** MTU of the interface that owns `address`, or undefined for wildcards/unknown. */
function mtuOf(address: string): number | undefined {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (!addrs?.some((a) => a.address === address)) continue;
    try {
      return Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function describe(e: TftpEvent): string | undefined {
  const who = e.type === 'listening' ? '' : `${e.remote.address}:${e.remote.port}`;
  switch (e.type) {
    case 'listening':
      return `listening on ${e.address} port ${e.port}`;
    case 'bad-packet':
      return `${who} malformed packet (${e.problem})`;
    case 'refused':
      return `${who} ${JSON.stringify(e.filename)} refused: ${e.message}`;
    case 'transfer-end': {
      const r = e.result;
      const rate = e.ms > 0 ? ((r.bytes / e.ms) * 1000) / 1e6 : 0;
      return `${who} ${JSON.stringify(e.filename)} ${r.ok ? 'sent' : `failed (${r.error})`} ${r.bytes} bytes in ${e.ms} ms (${rate.toFixed(1)} MB/s, blksize ${e.blksize}, windowsize ${e.windowsize}, ${r.retransmits} retransmitted)`;
    }
  }
}

export default class Tftp extends PxmCommand {
  static override description =
    'Serve a directory read-only over TFTP (RFC 1350 with blksize, tsize, timeout and windowsize)';

  static override examples = [
    '<%= config.bin %> tftp --root /var/lib/pxm/boot',
    '<%= config.bin %> tftp --root ./tftproot --listen 10.0.0.1 --listen fd00::1 --port 6969',
  ];

  static override flags = {
    root: Flags.string({ description: 'directory to serve', required: true }),
    listen: Flags.string({
      description: 'address to listen on (repeatable); default :: (IPv4 and IPv6)',
      multiple: true,
    }),
    port: Flags.integer({ description: 'UDP port', default: 69, min: 0, max: 65535 }),
    'max-blksize': Flags.integer({
      description: 'largest blksize granted (default: fits the MTU of the listening interface)',
      min: 512,
      max: 65464,
    }),
    'max-windowsize': Flags.integer({
      description: 'largest windowsize granted',
      default: 64,
      min: 1,
      max: 65535,
    }),
    'poll-us': Flags.integer({
      description:
        "busy-poll this many microseconds for each window's ACK (faster lock-step transfers; 0: off) [default: 100]",
      min: 0,
      max: 10_000,
    }),
    quiet: Flags.boolean({ description: 'do not log each transfer', default: false }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { blksizeForMtu } = await import('../server/tftp/options.js');
    const { TftpServer } = await import('../server/tftp/server.js');
    const { StaticRootHandler } = await import('../server/tftp/static-root.js');
    const { flags } = await this.parse(Tftp);
    const st = await stat(flags.root).catch(() => undefined);
    if (!st?.isDirectory()) throw new ValidationError('--root', `${flags.root} is not a directory`);
    const addresses = flags.listen ?? ['::'];
    const listen: TftpListen[] = addresses.map((address) => ({ address, port: flags.port }));
    const mtus = addresses.map(mtuOf).filter((m): m is number => m !== undefined);
    // The IPv4 figure; the server takes 20 bytes off for IPv6 clients (bigger header).
    const maxBlksize =
      flags['max-blksize'] ?? blksizeForMtu(mtus.length ? Math.min(...mtus) : 1500);
    const log = (e: TftpEvent) => {
      if (flags.quiet && e.type !== 'listening') return;
      const line = describe(e);
      if (line) process.stderr.write(`${line}\n`);
    };
    const makeServer = (l: TftpListen[]) =>
      new TftpServer(new StaticRootHandler(flags.root), {
        listen: l,
        limits: { maxBlksize, maxWindowsize: flags['max-windowsize'] },
        ackPollUs: flags['poll-us'],
        onEvent: log,
      });
    let server = makeServer(listen);
    try {
      await server.start();
    } catch (e) {
      // No IPv6 on this host: the default falls back to IPv4 only.
      if (flags.listen || (e as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw e;
      server = makeServer([{ address: '0.0.0.0', port: flags.port }]);
      await server.start();
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  }
}
