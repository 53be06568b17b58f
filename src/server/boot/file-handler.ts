// BootFileHandler: the TFTP (and HTTP) file source of `pxm server`. Bootloader configs
// are generated per request from node state; everything else comes from the static boot
// root (bootloaders, kernels, initrds). It implements the TFTP handler interface, so the
// protocol code stays policy-free, and reports every file served to a known node through
// `onServe` so the controller can record node events.
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
  ) {}

  async resolve(request: TftpRequest): Promise<TftpResolution> {
    const n = normaliseTftpPath(request.filename, this.root);
    if ('error' in n) return n;
    const f = await resolveBootName(n.relative, this.nodes, this.settings());
    if (f.kind === 'error') return { error: { code: f.code, message: f.message } };
    if (f.kind === 'generated') {
      if (f.node) this.onServe(f.node.id, n.relative, request.remote.address);
      return { source: bufferSource(Buffer.from(f.text, 'utf8')) };
    }
    const r = await openConfined(this.root, f.relative);
    if ('source' in r && this.nodes.byIp) {
      const node = await this.nodes.byIp(request.remote.address);
      if (node) this.onServe(node.id, f.relative, request.remote.address);
    }
    return r;
  }
}
