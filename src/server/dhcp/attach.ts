// Wires DHCP into the running controller: the controller supplies the policy (boot file
// by firmware from src/server/boot, reservations from the node store), this folder the
// protocol. PXE answers to MACs that are no node yet are reported to the controller, which
// keeps them until the machine enlists. `pxm server --dhcp full|proxy --interface IFACE`.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../util/errors.js';
import { keepYoungGenerationSmall } from '../../util/young-generation.js';
import { bootFileFor } from '../boot/firmware.js';
import { defaultBootSettings } from '../boot/types.js';
import { advertisedBase } from '../boot/service.js';
import { ipToNum, inSubnet, numToIp, type DhcpConfig } from './config.js';
import { FullDhcp, ProxyDhcp, type DhcpLogEvent, type FullDhcpOptions } from './engine.js';
import { servingInterface } from './iface.js';
import { WorkerLeaseStore } from './lease-worker.js';
import type { Reservations } from './pool.js';
import type { BootStep } from '../unknown-boots.js';
import { MSG_NAMES, MsgType, messageType } from './options.js';
import { bootFileOf, type BootPolicy } from './pxe.js';
import { DhcpServer, type DhcpHandler, type DhcpRequest, type DhcpServerEvent } from './server.js';
import { warmUp, warmUpConfig } from './warm-up.js';
import type { UnknownBoots } from '../unknown-boots.js';
import type { DhcpPacket } from './packet.js';

export type DhcpMode = 'off' | 'full' | 'proxy';
export const LEASES_FILE = 'dhcp-leases.sqlite';
/**
 * A fresh folder for the warm-up's own lease file, removed once the warm-up ran: in memory
 * (/dev/shm) where there is one, so the warm-up's commits wait for no disk flush (with
 * the lanes of warm-up.ts, a serving server in 0.6 s instead of 1.3 s); else in the data dir.
 */
function warmUpDir(dataDir: string): string {
  try {
    return mkdtempSync('/dev/shm/pxm-dhcp-warm-up-');
  } catch {
    return mkdtempSync(path.join(dataDir, 'dhcp-warm-up-'));
  }
}

/** The slice of the controller this needs (nodes with their MACs and fixed IPs). */
export interface DhcpNodeSource {
  listNodes(filter: { mac?: string; limit?: number }): {
    items: Array<{ macs: string[]; ip: string | null }>;
  };
  /** The record of DHCP answers to MACs that are no node (yet): Controller.unknownBoots. */
  readonly unknownBoots?: UnknownBoots;
}

export interface DhcpAttachOptions {
  mode: Exclude<DhcpMode, 'off'>;
  iface: string;
  /** The `dhcp:` section; required for full mode. */
  config?: DhcpConfig;
  dataDir: string;
  httpPort: number;
  /** --boot-url; default http://<interface address>:<http port>. */
  bootUrl?: string;
  log: (line: string) => void;
  /** Log every reply (off by default: thousands per second under load). */
  verbose?: boolean;
}

export interface DhcpService {
  server: DhcpServer;
  close(): Promise<void>;
}

/**
 * Known nodes' fixed addresses, from one snapshot of the store refreshed at most once a
 * second: a store query per packet cost more than the rest of the DHCP path together.
 */
function storeReservations(
  nodes: DhcpNodeSource,
  maxAgeMs = 1000,
): Reservations & { isNode(mac: string): boolean } {
  let at = -Infinity;
  let byMac = new Map<string, string>();
  let byIp = new Set<string>();
  let all = new Set<string>();
  const fresh = (): void => {
    if (Date.now() - at < maxAgeMs) return;
    byMac = new Map();
    byIp = new Set();
    all = new Set();
    for (const n of nodes.listNodes({ limit: 1_000_000 }).items) {
      for (const m of n.macs) all.add(m.toLowerCase());
      if (!n.ip) continue;
      byIp.add(n.ip);
      for (const m of n.macs) byMac.set(m.toLowerCase(), n.ip);
    }
    at = Date.now();
  };
  return {
    isNode(mac) {
      fresh();
      return all.has(mac);
    },
    reservedIp(mac) {
      fresh();
      return byMac.get(mac);
    },
    isReserved(ip) {
      fresh();
      return byIp.has(ip);
    },
  };
}

/**
 * Reports every OFFER and ACK to a MAC that is no node to `note` (boot file, address),
 * after the protocol code decided it: the record of a machine's netboot before it enlists.
 */
export function reportUnknownBoots(
  handler: DhcpHandler,
  isNode: (mac: string) => boolean,
  note: (mac: string, step: BootStep) => void,
): DhcpHandler {
  const seen = (req: DhcpRequest, reply: DhcpPacket | undefined): DhcpPacket | undefined => {
    const type = reply && messageType(reply);
    if (reply && (type === MsgType.OFFER || type === MsgType.ACK) && !isNode(req.mac)) {
      // Full mode: the address handed out; proxy mode's ACK on 4011: the client's own.
      const ip = [reply.yiaddr, req.packet.ciaddr].find((a) => a !== '0.0.0.0');
      note(req.mac, {
        kind: 'dhcp',
        message: MSG_NAMES[type] ?? String(type),
        ip,
        bootFile: bootFileOf(reply),
      });
    }
    return reply;
  };
  return {
    handle(req) {
      // Stays synchronous when the handler is (OFFERs): no promise per packet.
      const out = handler.handle(req);
      return out instanceof Promise ? out.then((r) => seen(req, r)) : seen(req, out);
    },
  };
}

export function controllerBootPolicy(httpBase: string): BootPolicy {
  const settings = defaultBootSettings(httpBase, new URL(httpBase).hostname);
  return {
    bootFor: (c) =>
      bootFileFor(c.arch, c.userClasses.includes('iPXE') ? 'iPXE' : undefined, settings),
  };
}

function describe(e: DhcpLogEvent | DhcpServerEvent): string | undefined {
  switch (e.type) {
    case 'lease':
      return `lease ${e.ip} to ${e.mac} until ${new Date(e.expiresAt).toISOString()}`;
    case 'nak':
      return `NAK to ${e.mac}: ${e.reason}`;
    case 'release':
      return `${e.mac} released ${e.ip}`;
    case 'decline':
      return `${e.mac} declined ${e.ip} (address in use on the wire)`;
    case 'pool-full':
      return `no free address in ${e.subnet} for ${e.mac}`;
    case 'write-failed':
      return `lease write failed for ${e.mac}, not acknowledged: ${e.error}`;
    case 'bad-packet':
      return `ignored malformed packet from ${e.remote.address}:${e.remote.port}: ${e.field}: ${e.problem}`;
    case 'error':
      return `error: ${e.error}`;
    case 'listening':
      return undefined;
    case 'reply':
      return `${e.request} from ${e.mac} -> ${e.reply} to ${e.to.address}:${e.to.port}`;
  }
}

export async function attachDhcp(
  controller: DhcpNodeSource,
  o: DhcpAttachOptions,
): Promise<DhcpService> {
  const ifc = servingInterface(o.iface);
  if (o.mode === 'full') {
    if (!o.config)
      throw new ValidationError(
        '--dhcp full',
        'needs a `dhcp:` section (subnet, range) in --config',
      );
    const own = ipToNum(ifc.address)!;
    // Direct (unrelayed) clients are on the interface's network: it must be configured.
    if (!o.config.subnets.some((s) => inSubnet(own, s)))
      throw new ValidationError(
        'dhcp',
        `no subnet contains ${o.iface}'s address ${ifc.address} (configured: ${o.config.subnets
          .map((s) => `${numToIp(s.network)}/${s.prefix}`)
          .join(', ')})`,
      );
  }
  const httpBase = o.bootUrl?.replace(/\/+$/, '') ?? advertisedBase(ifc.address, o.httpPort);
  const boot = controllerBootPolicy(httpBase);
  const log = (e: DhcpLogEvent | DhcpServerEvent): void => {
    if (e.type === 'reply' && !o.verbose) return;
    const line = describe(e);
    if (line) o.log(`dhcp: ${line}`);
  };
  // One recipe for the live handler chain and the warm-up's, so the warm-up compiles the
  // code that will answer: the engine for the mode (full: with these engine options),
  // wrapped by the report of answers to MACs that are no node.
  const chain = (
    full: Omit<FullDhcpOptions, 'boot'> | undefined,
    isNode: (mac: string) => boolean,
    noteBoot: ((mac: string, step: BootStep) => void) | undefined,
  ): DhcpHandler => {
    const engine = full ? new FullDhcp({ ...full, boot }) : new ProxyDhcp(boot);
    return noteBoot ? reportUnknownBoots(engine, isNode, noteBoot) : engine;
  };
  const full = o.mode === 'full';
  // The live chain and the warm-up's share every function and every object's shape; only
  // their data differ (warm-up.ts says why). Events of the warm-up are not logged.
  let warming = true;
  const onEngineEvent = (e: DhcpLogEvent): void => {
    if (!warming && (e.type !== 'lease' || o.verbose)) log(e);
  };
  const onServerEvent = (e: DhcpServerEvent): void => {
    if (!warming) log(e);
  };
  const nodes = storeReservations(controller);
  const isNode = (mac: string): boolean => nodes.isNode(mac);
  const record = controller.unknownBoots;
  const scratchRecord = record?.emptyLike();
  const noteBoot =
    record &&
    ((mac: string, step: BootStep) => (warming ? scratchRecord! : record).note(mac, step));
  const store = full ? new WorkerLeaseStore(path.join(o.dataDir, LEASES_FILE)) : undefined;
  let server: DhcpServer;
  try {
    if (full) {
      // Leases outlive scavenges: keep GC pauses short so replies do not leave in bursts.
      keepYoungGenerationSmall();
      const scratchDir = warmUpDir(o.dataDir);
      let scratchStore: WorkerLeaseStore | undefined;
      try {
        scratchStore = new WorkerLeaseStore(path.join(scratchDir, LEASES_FILE));
        const warmHandler = chain(
          {
            config: warmUpConfig(o.config!.subnets[0]),
            store: scratchStore,
            reservations: nodes,
            onEvent: onEngineEvent,
          },
          isNode,
          noteBoot,
        );
        // The first packets must not meet an unoptimised packet path (warm-up.ts).
        await warmUp(warmHandler, false, undefined, onServerEvent);
      } finally {
        await scratchStore?.closeAsync();
        rmSync(scratchDir, { recursive: true, force: true });
      }
    } else {
      await warmUp(chain(undefined, isNode, noteBoot), true, undefined, onServerEvent);
    }
    warming = false;
    const handler = chain(
      store && { config: o.config!, store, reservations: nodes, onEvent: onEngineEvent },
      isNode,
      noteBoot,
    );
    server = new DhcpServer({
      serverIp: ifc.address,
      handler,
      pxePort: !full,
      onEvent: onServerEvent,
    });
    await server.start();
  } catch (e) {
    await store?.closeAsync();
    throw e;
  }
  o.log(
    `dhcp: ${o.mode} mode on ${ifc.name} ${ifc.address} (${ifc.cidr})` +
      (o.mode === 'full'
        ? `, serving ${o
            .config!.subnets.map(
              (s) =>
                `${numToIp(s.network)}/${s.prefix} pool ${numToIp(s.rangeStart)}-${numToIp(s.rangeEnd)}`,
            )
            .join('; ')}`
        : ', PXE clients only, ports 67 and 4011') +
      `; boot base ${httpBase}`,
  );
  return {
    server,
    async close() {
      await server.close();
      await store?.closeAsync();
      if (store?.stats.batches) {
        const st = store.stats;
        o.log(
          `dhcp: ${st.writes} lease writes in ${st.batches} group commits ` +
            `(largest ${st.largest}, slowest ${Math.round(st.slowestMs)} ms)`,
        );
      }
    },
  };
}
