// The controller's policy: node inventory, lifecycle transitions, events and timeouts.
// HTTP handlers (metadata, admin API) and later TFTP/DHCP call into this; it never
// speaks a protocol itself.
import { EventEmitter } from 'node:events';
import { parse as parseYaml } from 'yaml';
import { PxmError, ExitCode, ValidationError } from '../util/errors.js';
import { newCredentials, newNodeId } from './credentials.js';
import {
  DEFAULT_TIMEOUTS,
  IN_PROGRESS,
  nextStatus,
  transition,
  type LifecycleEvent,
  type LifecycleTimeouts,
  type NodeAction,
  type NodeStatus,
} from './lifecycle.js';
import {
  checkArchitecture,
  checkDomain,
  checkHostname,
  checkIp,
  checkSshKey,
  normaliseMac,
} from './node-input.js';
import { UnknownBoots, type BootStep, type UnknownBootLimits } from './unknown-boots.js';
import type {
  DeploySettings,
  NodeEvent,
  NodeFilter,
  NodeRecord,
  NodePatch,
  Store,
} from './store/types.js';

export interface NodeInput {
  hostname?: string;
  domain?: string;
  architecture?: string;
  macs?: string[];
  ip?: string | null;
  powerType?: string;
  powerParameters?: Record<string, unknown>;
  sshKeys?: string[];
  deploy?: Partial<DeploySettings>;
}

export interface ActionOptions {
  comment?: string;
  /** deploy: replaces the node's deploy settings given here. */
  deploy?: Partial<DeploySettings>;
}

export class NotFoundError extends PxmError {
  constructor(what: string) {
    super(`${what} not found`, { exitCode: ExitCode.NOT_FOUND });
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends PxmError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export interface ControllerOptions {
  timeouts?: Partial<LifecycleTimeouts>;
  defaultDomain?: string;
  now?: () => number;
  /** Bounds of the in-memory record of machines that netboot before they are nodes. */
  unknownBoots?: Partial<UnknownBootLimits>;
}

/** Emits 'event' (NodeEvent) for every recorded event: the SSE stream listens. */
export class Controller extends EventEmitter {
  readonly timeouts: LifecycleTimeouts;
  private readonly now: () => number;
  private readonly defaultDomain: string;
  /** Netboots of MACs that are no node yet; a node created with such a MAC adopts them. */
  readonly unknownBoots: UnknownBoots;

  constructor(
    readonly store: Store,
    opts: ControllerOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.now = opts.now ?? Date.now;
    this.defaultDomain = opts.defaultDomain ?? 'maas';
    this.unknownBoots = new UnknownBoots(opts.unknownBoots, this.now);
  }

  /**
   * A netboot step (DHCP answer, boot file) of a MAC the caller found no node for. Kept
   * in memory, bounded, until a node with that MAC is created (enlistment).
   */
  noteUnknownBoot(mac: string, step: BootStep): void {
    this.unknownBoots.note(mac.toLowerCase(), step);
  }

  /** The netbooting MAC (no node yet) that pxm's DHCP last gave `ip`, to attribute files. */
  unknownBootMacAt(ip: string): string | undefined {
    return this.unknownBoots.macAt(ip);
  }

  getNode(id: string): NodeRecord {
    const n = this.store.getNode(id);
    if (!n) throw new NotFoundError(`node ${id}`);
    return n;
  }

  listNodes(filter: NodeFilter): { items: NodeRecord[]; total: number } {
    return this.store.listNodes(filter);
  }

  private checkInput(input: NodeInput, where: string): NodePatch {
    const patch: NodePatch = {};
    if (input.hostname !== undefined)
      patch.hostname = checkHostname(`${where}.hostname`, input.hostname);
    if (input.domain !== undefined) patch.domain = checkDomain(`${where}.domain`, input.domain);
    if (input.architecture !== undefined)
      patch.architecture = checkArchitecture(`${where}.architecture`, input.architecture);
    if (input.macs !== undefined) {
      const macs = input.macs.map((m, i) => normaliseMac(`${where}.macs[${i}]`, m));
      if (new Set(macs).size !== macs.length)
        throw new ValidationError(`${where}.macs`, 'a MAC is listed twice');
      patch.macs = macs;
    }
    if (input.ip !== undefined)
      patch.ip = input.ip === null ? null : checkIp(`${where}.ip`, input.ip);
    if (input.powerType !== undefined) {
      if (!/^[a-z0-9_-]{1,32}$/.test(input.powerType))
        throw new ValidationError(
          `${where}.powerType`,
          `not a power type: ${JSON.stringify(input.powerType)}`,
        );
      patch.powerType = input.powerType;
    }
    if (input.powerParameters !== undefined) patch.powerParameters = input.powerParameters;
    if (input.sshKeys !== undefined)
      patch.sshKeys = input.sshKeys.map((k, i) => checkSshKey(`${where}.sshKeys[${i}]`, k));
    return patch;
  }

  private checkUnique(patch: NodePatch, selfId: string | undefined): void {
    for (const mac of patch.macs ?? []) {
      const other = this.store.getNodeByMac(mac);
      if (other && other.id !== selfId)
        throw new ConflictError(`MAC ${mac} already belongs to node ${other.id}`);
    }
    if (patch.hostname) {
      const clash = this.store.listNodes({ hostname: patch.hostname, limit: 1 }).items[0];
      if (clash && clash.id !== selfId)
        throw new ConflictError(`host name ${patch.hostname} is taken by node ${clash.id}`);
    }
  }

  private freshId(): string {
    for (;;) {
      const id = newNodeId();
      if (!this.store.getNode(id)) return id;
    }
  }

  createNode(input: NodeInput, origin: string): NodeRecord {
    const patch = this.checkInput(input, 'node');
    this.checkUnique(patch, undefined);
    const id = this.freshId();
    const now = this.now();
    const node: NodeRecord = {
      id,
      hostname: patch.hostname ?? `node-${id}`,
      domain: patch.domain ?? this.defaultDomain,
      architecture: patch.architecture ?? 'amd64/generic',
      status: 'NEW',
      statusReason: null,
      statusChangedAt: now,
      macs: patch.macs ?? [],
      ip: patch.ip ?? null,
      powerType: patch.powerType ?? 'manual',
      powerParameters: patch.powerParameters ?? {},
      sshKeys: patch.sshKeys ?? [],
      credentials: newCredentials(),
      deploy: { configs: [], source: null, netboot: false, userData: null, ...input.deploy },
      inventory: null,
      createdAt: now,
      updatedAt: now,
      version: 0,
    };
    this.checkDeploy(node.deploy, 'node.deploy');
    this.store.createNode(node);
    // The machine may have netbooted before it was a node (enlistment): its DHCP answers
    // and boot files become the node's first events, with their own times.
    for (const ev of this.unknownBoots.take(node.macs))
      this.recordAt(ev.time, id, ev.type, ev.summary, ev.data);
    this.record(id, 'created', `node created (${origin})`, { origin });
    return node;
  }

  updateNode(id: string, input: NodeInput): NodeRecord {
    this.getNode(id);
    const patch = this.checkInput(input, 'node');
    this.checkUnique(patch, id);
    if (input.deploy) {
      patch.deploy = { ...this.getNode(id).deploy, ...input.deploy };
      this.checkDeploy(patch.deploy, 'node.deploy');
    }
    const n = this.store.updateNode(id, patch);
    if (!n) throw new NotFoundError(`node ${id}`);
    this.record(id, 'updated', `node edited: ${Object.keys(patch).join(', ')}`, null);
    return n;
  }

  private checkDeploy(d: DeploySettings, where: string): void {
    if (!Array.isArray(d.configs) || d.configs.some((c) => typeof c !== 'string'))
      throw new ValidationError(`${where}.configs`, 'must be a list of YAML documents (strings)');
    if (d.source !== null && typeof d.source !== 'string')
      throw new ValidationError(`${where}.source`, 'must be a URL');
    if (typeof d.netboot !== 'boolean')
      throw new ValidationError(`${where}.netboot`, 'must be true or false');
    if (d.userData !== null && typeof d.userData !== 'string')
      throw new ValidationError(`${where}.userData`, 'must be a string');
    // A config that is not a YAML mapping would only fail when the node asks for its
    // installer; refuse it now, naming which one.
    d.configs.forEach((text, i) => {
      let doc: unknown;
      try {
        doc = parseYaml(text);
      } catch (e) {
        throw new ValidationError(
          `${where}.configs[${i}]`,
          `not valid YAML: ${(e as Error).message.split('\n')[0]}`,
        );
      }
      if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc)))
        throw new ValidationError(
          `${where}.configs[${i}]`,
          'must be a YAML mapping (a curtin config)',
        );
    });
    if (d.source !== null && !/^(https?|file|cp):\/\/\S+$|^\/\S+$/.test(d.source))
      throw new ValidationError(`${where}.source`, `not a source URL: ${JSON.stringify(d.source)}`);
  }

  deleteNode(id: string): void {
    if (!this.store.deleteNode(id)) throw new NotFoundError(`node ${id}`);
  }

  /** An operator action; throws TransitionError when the status does not allow it. */
  act(id: string, action: NodeAction, opts: ActionOptions = {}): NodeRecord {
    const node = this.getNode(id);
    const to = transition(id, node.status, action);
    let deploy: DeploySettings | undefined;
    if (action === 'deploy') {
      deploy = { ...node.deploy, ...opts.deploy, netboot: true };
      this.checkDeploy(deploy, 'deploy');
    }
    let moved = this.move(node, action, to, opts.comment ?? null);
    if (deploy) moved = this.store.updateNode(id, { deploy }) ?? moved;
    // pxm has no disk erase or power driver yet: releasing completes at once.
    if (moved.status === 'RELEASING')
      return this.systemEvent(id, 'release-done', 'released') ?? this.getNode(id);
    return moved;
  }

  private move(
    node: NodeRecord,
    event: LifecycleEvent,
    to: NodeStatus,
    reason: string | null,
  ): NodeRecord {
    const n = this.store.compareAndSetStatus(node.id, node.status, to, reason, this.now());
    if (!n)
      throw new ConflictError(`node ${node.id} changed status while ${event} was applied; retry`);
    this.record(
      node.id,
      'status',
      `${node.status} -> ${to} (${event}${reason ? `: ${reason}` : ''})`,
      {
        from: node.status,
        to,
        event,
        reason,
      },
    );
    return n;
  }

  /**
   * An event from the node or the controller. Returns the moved node, or undefined when
   * the status does not take this event (a repeated signal): that is not an error.
   */
  systemEvent(id: string, event: LifecycleEvent, reason: string | null): NodeRecord | undefined {
    const node = this.store.getNode(id);
    if (!node) return undefined;
    const to = nextStatus(node.status, event);
    if (!to) return undefined;
    const n = this.store.compareAndSetStatus(id, node.status, to, reason, this.now());
    if (!n) return undefined; // another request moved it first
    this.record(id, 'status', `${node.status} -> ${to} (${event}${reason ? `: ${reason}` : ''})`, {
      from: node.status,
      to,
      event,
      reason,
    });
    return n;
  }

  setInventory(id: string, inventory: unknown): void {
    this.store.updateNode(id, { inventory });
  }

  setNetboot(id: string, netboot: boolean): NodeRecord | undefined {
    const node = this.store.getNode(id);
    if (!node) return undefined;
    if (node.deploy.netboot === netboot) return node;
    const n = this.store.updateNode(id, { deploy: { ...node.deploy, netboot } });
    this.record(id, 'netboot', `netboot ${netboot ? 'on' : 'off'}`, { netboot });
    return n;
  }

  record(nodeId: string, type: string, summary: string, data: unknown): NodeEvent {
    return this.recordAt(this.now(), nodeId, type, summary, data);
  }

  private recordAt(
    time: number,
    nodeId: string,
    type: string,
    summary: string,
    data: unknown,
  ): NodeEvent {
    const ev = this.store.addEvent({ nodeId, time, type, summary, data });
    this.emit('event', ev);
    return ev;
  }

  /** Moves nodes stuck in an in-progress status past their timeout to the failed status. */
  sweepTimeouts(): NodeRecord[] {
    const moved: NodeRecord[] = [];
    for (const status of IN_PROGRESS) {
      const limit = this.timeouts[status as keyof LifecycleTimeouts];
      const stuck = this.store.nodesStuckSince(status, this.now() - limit * 1000);
      for (const node of stuck) {
        const n = this.systemEvent(node.id, 'timeout', `no progress for ${limit} s in ${status}`);
        if (n) moved.push(n);
      }
    }
    return moved;
  }
}
