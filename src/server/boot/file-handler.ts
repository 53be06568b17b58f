// BootFileHandler: the TFTP (and HTTP) file source of `pxm server`. Bootloader configs
// are generated per request from node state; everything else comes from the static boot
// root (bootloaders, kernels, initrds). It implements the TFTP handler interface, so the
// protocol code stays policy-free, and reports every file served to a known node through
// `onServe` so the controller can record node events; every other request (refused, or
// for a machine that is no node yet) goes to `onOther`, so the controller can keep it.
import {
  bufferSource,
  type TftpHandler,
  type TftpRequest,
  type TftpResolution,
} from '../tftp/handler.js';
import { ErrorCode } from '../tftp/packet.js';
import { normaliseTftpPath, openConfined } from '../tftp/static-root.js';
import { MissingImageError } from './cmdline.js';
import { baseArch, decideBoot } from './decide.js';
import { parseGrubName, renderGrub, renderGrubBootstrap } from './grub.js';
import { parsePxelinuxName, renderPxelinux } from './pxelinux.js';
import type { BootNode, BootSettings } from './types.js';

export interface NodeLookup {
  /** The node that owns this MAC (lower-case, colon-separated), if any. */
  byMac(mac: string): Promise<BootNode | undefined> | BootNode | undefined;
  /** The node currently holding this IP (DHCP lease), to attribute static files. */
  byIp?(address: string): Promise<BootNode | undefined> | BootNode | undefined;
}

export type ServeCallback = (nodeId: string, filename: string, remote: string) => void;

/** A request that was not a file served to a known node. */
export interface OtherRequest {
  filename: string;
  remote: string;
  /** The MAC the name carries (pxelinux.cfg/01-<mac>, grub.cfg-<mac>), if any. */
  mac: string | undefined;
  /** The node found by that MAC, else by the client's IP (a refused request), if any. */
  node: BootNode | undefined;
  /** 'sent', or why the file was not served. */
  result: string;
}

export type OtherCallback = (r: OtherRequest) => void;

/** The MAC a per-machine config name carries, e.g. `pxelinux.cfg/01-52-54-00-12-34-56`. */
export function macOfBootName(relative: string): string | undefined {
  const px = /(?:^|\/)pxelinux\.cfg\/([^/]+)$/.exec(relative);
  if (px?.[1]) {
    const r = parsePxelinuxName(px[1]);
    return r.kind === 'mac' ? r.mac : undefined;
  }
  const gr = /(?:^|\/)grub\/([^/]+)$/.exec(relative);
  if (gr?.[1]) {
    const r = parseGrubName(gr[1]);
    return r.kind === 'mac' ? r.mac : undefined;
  }
  return undefined;
}

export type GeneratedFile =
  | { kind: 'generated'; text: string; node: BootNode | undefined }
  | { kind: 'static'; relative: string }
  | { kind: 'error'; code: number; message: string };

const notFound = (message: string): GeneratedFile => ({
  kind: 'error',
  code: ErrorCode.FILE_NOT_FOUND,
  message,
});

/**
 * Decides what a (normalised, root-relative) boot file name is. Exported for the HTTP
 * side, which serves the same names under the boot path.
 */
export async function resolveBootName(
  relative: string,
  nodes: NodeLookup,
  settings: BootSettings,
): Promise<GeneratedFile> {
  try {
    // pxelinux looks relative to its own directory, which may not be the root.
    const px = /(?:^|\/)pxelinux\.cfg\/([^/]+)$/.exec(relative);
    if (px?.[1]) {
      const req = parsePxelinuxName(px[1]);
      if (req.kind === 'default') {
        return {
          kind: 'generated',
          text: renderPxelinux('enlist', undefined, settings, 'amd64'),
          node: undefined,
        };
      }
      if (req.kind === 'other') return notFound('no such config (pxm answers per MAC)');
      const node = await nodes.byMac(req.mac);
      // Unknown MAC: not found, so pxelinux falls through to `default` (enlist).
      if (!node) return notFound('unknown MAC');
      return { kind: 'generated', text: renderPxelinux(decideBoot(node), node, settings), node };
    }
    const gr = /(?:^|\/)grub\/([^/]+)$/.exec(relative);
    if (gr?.[1]) {
      const req = parseGrubName(gr[1]);
      switch (req.kind) {
        case 'bootstrap':
          return { kind: 'generated', text: renderGrubBootstrap(), node: undefined };
        case 'default':
          return {
            kind: 'generated',
            text: renderGrub('enlist', undefined, settings, baseArch(req.cpu)),
            node: undefined,
          };
        case 'mac': {
          const node = await nodes.byMac(req.mac);
          if (!node) return notFound('unknown MAC');
          return { kind: 'generated', text: renderGrub(decideBoot(node), node, settings), node };
        }
        case 'other':
          break; // grub modules, fonts: from the root
      }
    }
  } catch (e) {
    if (e instanceof MissingImageError) {
      return { kind: 'error', code: ErrorCode.FILE_NOT_FOUND, message: e.message };
    }
    throw e;
  }
  return { kind: 'static', relative };
}

export class BootFileHandler implements TftpHandler {
  constructor(
    private readonly root: string,
    private readonly nodes: NodeLookup,
    private readonly settings: () => BootSettings,
    private readonly onServe: ServeCallback = () => {},
    private readonly onOther: OtherCallback = () => {},
  ) {}

  async resolve(request: TftpRequest): Promise<TftpResolution> {
    const remote = request.remote.address;
    const n = normaliseTftpPath(request.filename, this.root);
    if ('error' in n) {
      await this.other(request.filename, remote, undefined, n.error.message);
      return n;
    }
    const f = await resolveBootName(n.relative, this.nodes, this.settings());
    if (f.kind === 'error') {
      await this.other(n.relative, remote, macOfBootName(n.relative), f.message);
      return { error: { code: f.code, message: f.message } };
    }
    if (f.kind === 'generated') {
      if (f.node) this.onServe(f.node.id, n.relative, remote);
      else await this.other(n.relative, remote, undefined, 'sent');
      return { source: bufferSource(Buffer.from(f.text, 'utf8')) };
    }
    const r = await openConfined(this.root, f.relative);
    await this.other(f.relative, remote, undefined, 'source' in r ? 'sent' : r.error.message);
    return r;
  }

  private other(
    filename: string,
    remote: string,
    mac: string | undefined,
    result: string,
  ): Promise<void> {
    const r = { filename, remote, mac, result };
    return reportBootRequest(this.nodes, this.onServe, this.onOther, r);
  }
}

/**
 * Where one boot request's outcome goes (TFTP and HTTP alike): a file sent to a node
 * (found by the MAC in the name, else by the client's IP) is served to it; anything else
 * is `onOther`.
 */
export async function reportBootRequest(
  nodes: NodeLookup,
  onServe: ServeCallback,
  onOther: OtherCallback,
  r: Omit<OtherRequest, 'node'>,
): Promise<void> {
  const node = r.mac ? await nodes.byMac(r.mac) : await nodes.byIp?.(r.remote);
  if (node && r.result === 'sent') onServe(node.id, r.filename, r.remote);
  else onOther({ ...r, node });
}
