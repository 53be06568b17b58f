// The controller's answers to the metadata protocols: which user-data a node gets in
// which status, what a signal or webhook event does to its lifecycle, who may enlist.
import { PxmError } from '../util/errors.js';
import type { TokenOwner } from './http/oauth-verify.js';
import type { Controller } from './controller.js';
import type { Form } from './http/form.js';
import { field } from './http/form.js';
import type { EnlistBackend } from './http/enlist.js';
import type { LocalBackend } from './http/local-flavours.js';
import {
  LATER,
  type MetaData,
  type MetadataBackend,
  type RequestInfo,
  type WebhookEvent,
} from './http/maas-metadata.js';
import { HttpError } from './http/core.js';
import { normaliseMac } from './node-input.js';
import { NodeSnapshots, storedUserData } from './node-snapshots.js';
import type { NodeRecord } from './store/types.js';
import {
  commissioningScript,
  enlistPreseed,
  enlistScript,
  installAdditions,
  networkConfig,
  nodePreseed,
  vendorCloudConfig,
} from './userdata.js';

/** Builds a node's self-extracting installer from install configs (src/pack). */
export type InstallerBuilder = (input: { nodeId: string; configs: string[] }) => Promise<Buffer>;

export class MetadataPolicy implements MetadataBackend, LocalBackend, EnlistBackend {
  // Building an installer takes seconds; nodes retry. One build per node and inputs.
  private readonly installers = new Map<string, { key: string; build: Promise<Buffer> }>();
  // Metadata reads dominate (boot storms, cloud-init polling): see NodeSnapshots.
  private readonly cache: NodeSnapshots;

  constructor(
    private readonly c: Controller,
    private readonly buildInstaller: InstallerBuilder | undefined,
  ) {
    this.cache = new NodeSnapshots(c.store);
  }

  private node(id: string): NodeRecord | undefined {
    return this.cache.node(id);
  }

  nodeByToken(tokenKey: string): TokenOwner | undefined {
    return this.cache.nodeByToken(tokenKey);
  }

  metaData(nodeId: string): MetaData | undefined {
    return this.cache.metaData(nodeId);
  }

  userDataNow(nodeId: string): Buffer | undefined | typeof LATER {
    return this.cache.userDataNow(nodeId);
  }

  async userData(nodeId: string, info: RequestInfo): Promise<Buffer | string | undefined> {
    const cur = this.node(nodeId);
    if (!cur) return undefined;
    const stored = storedUserData(cur);
    if (stored !== LATER) return stored;
    let n = cur;
    const urls = { base: info.baseUrl };
    if (n.status === 'COMMISSIONING') return Buffer.from(commissioningScript(n, urls));
    if (n.status === 'DEPLOYING' && n.deploy.netboot) return this.installer(n, info);
    if (n.status === 'DEPLOYING') {
      // netboot is off, so this is the installed OS asking: the deployment worked.
      n = this.c.systemEvent(n.id, 'deployed', 'installed OS booted') ?? n;
    }
    if ((n.status === 'DEPLOYED' || n.status === 'DEPLOYING') && n.deploy.userData !== null) {
      return Buffer.from(n.deploy.userData);
    }
    return undefined;
  }

  private async installer(n: NodeRecord, info: RequestInfo): Promise<Buffer> {
    if (!this.buildInstaller) {
      const why = 'cannot build the installer: this pxm has no installer builder (src/pack)';
      this.c.record(n.id, 'error', why, null);
      throw new HttpError(500, why);
    }
    const configs = [...n.deploy.configs, installAdditions(n, { base: info.baseUrl })];
    const key = JSON.stringify(configs);
    let entry = this.installers.get(n.id);
    if (!entry || entry.key !== key) {
      entry = { key, build: this.buildInstaller({ nodeId: n.id, configs }) };
      this.installers.set(n.id, entry);
      // A failed build is not cached: the next request retries it.
      entry.build.catch(() => this.installers.delete(n.id));
    }
    try {
      return await entry.build;
    } catch (e) {
      const why = `cannot build the installer: ${e instanceof Error ? e.message : String(e)}`;
      this.c.record(n.id, 'error', why, null);
      throw new HttpError(500, why);
    }
  }

  enlistUserData(info: RequestInfo): Buffer {
    return Buffer.from(enlistScript({ base: info.baseUrl }));
  }

  signal(nodeId: string, form: Form): void {
    const status = (field(form, 'status') ?? '').toUpperCase();
    const error = field(form, 'error');
    const files = form.files.map((f) => ({ name: f.filename || f.field, size: f.data.length }));
    this.c.record(nodeId, 'signal', `signal ${status}${error ? `: ${error}` : ''}`, {
      status,
      error: error ?? null,
      exitStatus: field(form, 'exit_status') ?? null,
      name: field(form, 'name') ?? null,
      files,
    });
    const n = this.node(nodeId);
    if (!n) return;
    const powerType = field(form, 'power_type');
    if (powerType && /^[a-z0-9_-]{1,32}$/.test(powerType)) {
      let params: Record<string, unknown> = n.powerParameters;
      try {
        const p: unknown = JSON.parse(field(form, 'power_parameters') ?? '{}');
        if (typeof p === 'object' && p !== null) params = p as Record<string, unknown>;
      } catch {
        /* keep the old parameters: a bad value must not fail the signal */
      }
      this.c.store.updateNode(nodeId, { powerType, powerParameters: params });
    }
    if (n.status === 'COMMISSIONING') {
      if (status === 'OK') {
        const inv = form.files.find((f) => /inventory.*\.json$/.test(f.filename || f.field));
        if (inv) {
          try {
            this.c.setInventory(nodeId, JSON.parse(inv.data.toString('utf8')));
          } catch {
            throw new HttpError(400, `${inv.filename}: not JSON`);
          }
        }
        this.c.systemEvent(nodeId, 'commissioning-ok', null);
      } else if (status === 'FAILED') {
        this.c.systemEvent(
          nodeId,
          'commissioning-failed',
          error ?? 'commissioning signalled FAILED',
        );
      }
    } else if (n.status === 'DEPLOYING' && status === 'FAILED') {
      this.c.systemEvent(nodeId, 'deploy-failed', error ?? 'installer signalled FAILED');
    }
  }

  netbootOff(nodeId: string): void {
    this.c.setNetboot(nodeId, false);
  }

  netbootOffAnonymous(nodeId: string, info: RequestInfo): boolean {
    const n = this.node(nodeId);
    if (!n || n.ip === null || n.ip !== info.remote) return false;
    this.c.setNetboot(nodeId, false);
    return true;
  }

  webhook(nodeId: string, ev: WebhookEvent): void {
    const result = ev.result ?? '';
    this.c.record(
      nodeId,
      'webhook',
      `${ev.event_type} ${ev.name}${result ? ` ${result}` : ''}: ${ev.description}`,
      {
        name: ev.name,
        description: ev.description,
        event_type: ev.event_type,
        origin: ev.origin,
        timestamp: ev.timestamp ?? null,
        result: ev.result ?? null,
        // File contents (logs, tarballs) are not kept in events; names and sizes are.
        files: (ev.files ?? []).map((f) => ({ path: f.path, size: f.content?.length ?? 0 })),
      },
    );
    // A failed top-level stage (curtin's cmd-install, cloud-init's modules-final) ends
    // the install or commissioning with that stage's description as the cause.
    if (ev.event_type !== 'finish' || result !== 'FAIL' || ev.name.includes('/')) return;
    const n = this.node(nodeId);
    const cause = `${ev.name}: ${ev.description}`;
    if (n?.status === 'DEPLOYING') this.c.systemEvent(nodeId, 'deploy-failed', cause);
    else if (n?.status === 'COMMISSIONING')
      this.c.systemEvent(nodeId, 'commissioning-failed', cause);
  }

  preseed(nodeId: string, info: RequestInfo): string | undefined {
    // The preseed carries the node's secrets: only the node's own address gets it.
    const n = this.node(nodeId);
    if (!n || n.ip === null || n.ip !== info.remote) return undefined;
    return nodePreseed(n, { base: info.baseUrl });
  }

  enlistPreseed(info: RequestInfo): string {
    return enlistPreseed({ base: info.baseUrl });
  }

  nodeAt(remote: string): string | undefined {
    return this.c.store.getNodeByIp(remote)?.id;
  }

  vendorCloudConfig(nodeId: string): string | undefined {
    const n = this.node(nodeId);
    return n && vendorCloudConfig(n);
  }

  networkConfig(nodeId: string): string | undefined {
    const n = this.node(nodeId);
    return n && networkConfig(n);
  }

  isRegistered(mac: string): boolean {
    try {
      return this.c.store.getNodeByMac(normaliseMac('mac_address', mac)) !== undefined;
    } catch (e) {
      if (e instanceof PxmError) throw new HttpError(400, e.message);
      throw e;
    }
  }

  enlist(form: Form, remote: string) {
    const macs = form.fields.get('mac_addresses') ?? [];
    if (!macs.length) throw new HttpError(400, 'enlistment needs at least one mac_addresses field');
    try {
      const norm = macs.map((m, i) => normaliseMac(`mac_addresses[${i}]`, m));
      for (const mac of norm) {
        const known = this.c.store.getNodeByMac(mac);
        if (known) {
          this.c.record(
            known.id,
            'enlist',
            `enlistment repeated from ${remote} (MAC ${mac} known)`,
            { remote },
          );
          return {
            systemId: known.id,
            hostname: known.hostname,
            status: known.status,
            created: false,
          };
        }
      }
      let powerParameters: Record<string, unknown> | undefined;
      const pp = field(form, 'power_parameters');
      if (pp) {
        try {
          powerParameters = JSON.parse(pp) as Record<string, unknown>;
        } catch {
          throw new HttpError(400, 'power_parameters: not JSON');
        }
      }
      const ipFree = !this.c.store.getNodeByIp(remote);
      const n = this.c.createNode(
        {
          hostname: field(form, 'hostname') || undefined,
          domain: field(form, 'domain') || undefined,
          architecture: field(form, 'architecture') || undefined,
          macs: norm,
          // The enlisting environment's address is the node's until a lease says otherwise.
          ip: ipFree ? remote : undefined,
          powerType: field(form, 'power_type') || undefined,
          powerParameters,
        },
        `enlistment from ${remote}`,
      );
      // createNode put the machine's netboot (kept while it had no node) before `created`;
      // this says what the new node is doing now.
      this.c.record(
        n.id,
        'enlist',
        `enlisting: registered from ${remote} with MAC ${norm.join(', ')}, status ${n.status}`,
        { remote, macs: norm, status: n.status },
      );
      return { systemId: n.id, hostname: n.hostname, status: n.status, created: true };
    } catch (e) {
      if (e instanceof PxmError && !(e instanceof HttpError)) throw new HttpError(400, e.message);
      throw e;
    }
  }
}
