import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import type { ServerConfig } from '../server/config.js';
import type { DhcpService } from '../server/dhcp/attach.js';
import { ValidationError } from '../util/errors.js';

export default class Server extends PxmCommand {
  static override description =
    'Run the pxm controller: MAAS-compatible metadata, enlistment and the admin API';
  static override examples = [
    'pxm server --data-dir /var/lib/pxm --listen 0.0.0.0 --http-port 5240',
  ];
  static override flags = {
    'data-dir': Flags.string({
      description: 'state directory (SQLite database, API key) [default: /var/lib/pxm]',
    }),
    listen: Flags.string({ description: 'address to listen on [default: 0.0.0.0]' }),
    'http-port': Flags.integer({ description: 'HTTP port [default: 5240]', min: 0, max: 65535 }),
    config: Flags.string({
      description:
        'YAML settings file (data_dir, listen, http_port, domain, timeouts, http_workers)',
    }),
    'tftp-port': Flags.integer({
      description: 'TFTP port; when given, failing to bind it is fatal [default: 69, best effort]',
      min: 0,
      max: 65535,
    }),
    'tftp-poll-us': Flags.integer({
      description:
        "busy-poll this many microseconds for each TFTP window's ACK (faster lock-step transfers; 0: off) [default: 100]",
      min: 0,
      max: 10_000,
    }),
    'tftp-root': Flags.string({
      description: 'boot root served over TFTP and HTTP /boot [default: <data-dir>/boot]',
    }),
    'boot-url': Flags.string({
      description:
        'controller URL as booting nodes reach it [default: http://<listen>:<http-port>]',
    }),
    dhcp: Flags.string({
      description:
        'DHCP server: off, full (addresses + PXE) or proxy (PXE only, beside another server)',
      options: ['off', 'full', 'proxy'],
      default: 'off',
    }),
    interface: Flags.string({
      description: 'interface DHCP serves (its IPv4 address is the server id and reply source)',
    }),
    'http-workers': Flags.string({
      description:
        'processes serving HTTP: auto (one per CPU; 1 on 1-2 CPUs) or 1..64; with more than 1, worker processes answer metadata reads and pass the rest to this one [default: auto]',
    }),
  };

  async run(): Promise<void> {
    // Registered first: a SIGTERM sent as soon as the "listening" line appears (or even
    // during start-up) must shut down in order, never kill the process half-way.
    let signalled: string | undefined;
    let onSignal: ((sig: string) => void) | undefined;
    const signal = (sig: string): void => {
      signalled ??= sig;
      onSignal?.(sig);
    };
    process.once('SIGTERM', () => signal('SIGTERM'));
    process.once('SIGINT', () => signal('SIGINT'));
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { loadServerConfig, parseHttpWorkers } = await import('../server/config.js');
    const { startServer } = await import('../server/server.js');
    const { attachBoot } = await import('../server/boot/service.js');
    const { attachDhcp } = await import('../server/dhcp/attach.js');
    const { parseDhcpConfig } = await import('../server/dhcp/config.js');
    const { servingInterface } = await import('../server/dhcp/iface.js');
    const { flags } = await this.parse(Server);
    const cfg: ServerConfig = flags.config ? loadServerConfig(flags.config) : {};
    // DHCP settings are checked completely before anything starts (src/server/dhcp).
    const dhcpMode = flags.dhcp as 'off' | 'full' | 'proxy';
    if (dhcpMode !== 'off' && !flags.interface)
      throw new ValidationError(`--dhcp ${dhcpMode}`, 'needs --interface IFACE');
    const dhcpConfig =
      cfg.dhcp !== undefined ? parseDhcpConfig(`${flags.config}: dhcp`, cfg.dhcp) : undefined;
    // An interface without IPv4 is refused here, before the controller starts.
    if (dhcpMode !== 'off') servingInterface(flags.interface!);
    const httpWorkers =
      flags['http-workers'] !== undefined
        ? parseHttpWorkers('--http-workers', flags['http-workers'])
        : (cfg.httpWorkers ?? parseHttpWorkers('http_workers', 'auto'));
    const server = await startServer({
      dataDir: flags['data-dir'] ?? cfg.dataDir ?? '/var/lib/pxm',
      listen: flags.listen ?? cfg.listen ?? '0.0.0.0',
      httpPort: flags['http-port'] ?? cfg.httpPort ?? 5240,
      domain: cfg.domain,
      timeouts: cfg.timeouts,
      installerWithNode: cfg.installerWithNode,
      httpWorkers,
      log: (line) => process.stderr.write(`pxm server: ${line}\n`),
    });
    // Network boot (TFTP + HTTP /boot): src/server/boot/service.ts.
    const boot = await attachBoot(server, {
      dataDir: flags['data-dir'] ?? cfg.dataDir ?? '/var/lib/pxm',
      listen: flags.listen ?? cfg.listen ?? '0.0.0.0',
      httpPort: server.port,
      tftpPort: flags['tftp-port'],
      tftpPollUs: flags['tftp-poll-us'],
      tftpRoot: flags['tftp-root'],
      bootUrl: flags['boot-url'],
      log: (line) => process.stderr.write(`pxm server: ${line}\n`),
    }).catch(async (e: unknown) => {
      await server.close();
      throw e;
    });
    let dhcp: DhcpService | undefined;
    if (dhcpMode !== 'off') {
      dhcp = await attachDhcp(server.controller, {
        mode: dhcpMode,
        iface: flags.interface!,
        config: dhcpConfig,
        dataDir: flags['data-dir'] ?? cfg.dataDir ?? '/var/lib/pxm',
        httpPort: server.port,
        bootUrl: flags['boot-url'],
        log: (line) => process.stderr.write(`pxm server: ${line}\n`),
      }).catch(async (e: unknown) => {
        await boot.close();
        await server.close();
        throw e;
      });
    }
    const pids = server.httpWorkerPids();
    if (pids.length)
      process.stderr.write(
        `pxm server: ${pids.length} HTTP worker processes (pids ${pids.join(', ')}) answer metadata reads\n`,
      );
    process.stderr.write(
      `pxm server: listening on http://${server.address}/ (API key in ${server.apiKeyFile})\n`,
    );
    const sig = await new Promise<string>((resolve) => {
      if (signalled) resolve(signalled);
      else onSignal = resolve;
    });
    process.stderr.write(`pxm server: ${sig}, shutting down\n`);
    await (dhcp ? dhcp.close() : Promise.resolve());
    await boot.close();
    await server.close();
  }
}
