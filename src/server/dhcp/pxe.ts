// The PXE part of a reply: who is a network-boot client, and how a boot answer chosen by
// the controller (BootPolicy) is written into the packet. The choice itself (option 93 ->
// loader, iPXE -> script, known/unknown node) is policy and lives with the controller.
import type { BootFile } from '../boot/firmware.js';
import { fieldText } from './packet.js';
import type { DhcpOption, DhcpPacket } from './packet.js';
import {
  Opt,
  clientArch,
  clientUuid,
  getOption,
  optText,
  pxeVendorOptions,
  text,
  userClasses,
} from './options.js';

export interface PxeClient {
  mac: string;
  /** Option 93 (first entry); 0 (BIOS) when a PXEClient sends none. */
  arch: number;
  userClasses: string[];
  /** Option 60 as sent, e.g. `PXEClient:Arch:00007:UNDI:003016`. */
  vendorClass: string;
  /** Option 97 (type byte + GUID), echoed in replies. */
  uuid: Buffer | undefined;
  /** Relay address the request came through (0.0.0.0 when direct). */
  giaddr: string;
}

/** Decides the boot answer for a PXE client. Supplied by the controller. */
export interface BootPolicy {
  bootFor(client: PxeClient): BootFile;
}

/** A network-boot client: vendor class PXEClient/HTTPClient, or iPXE's user class. */
export function pxeClientOf(p: DhcpPacket, mac: string): PxeClient | undefined {
  const vc = optText(p, Opt.VENDOR_CLASS) ?? '';
  const uc = userClasses(p);
  const isPxe = vc.startsWith('PXEClient') || vc.startsWith('HTTPClient') || uc.includes('iPXE');
  if (!isPxe) return undefined;
  return {
    mac,
    arch: clientArch(p) ?? 0,
    userClasses: uc,
    vendorClass: vc,
    uuid: clientUuid(p),
    giaddr: p.giaddr,
  };
}

function fixedField(s: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  // Longer names only travel in option 67; the fixed field must stay zero-terminated.
  if (s.length < size) out.write(s, 'latin1');
  return out;
}

/**
 * Writes the boot answer into `reply` (siaddr, file, options 66/67, 60, 43, 97).
 * Returns false when the answer is "no boot" (the reply then carries no boot info).
 */
export function applyBoot(
  reply: DhcpPacket,
  req: DhcpPacket,
  client: PxeClient,
  answer: BootFile,
  serverIp: string,
): boolean {
  if (answer.via === 'none') return false;
  const opts: DhcpOption[] = [];
  if (answer.via === 'tftp') {
    reply.siaddr = serverIp;
    reply.sname = fixedField(serverIp, 64);
    reply.file = fixedField(answer.file, 128);
    opts.push(text(Opt.TFTP_SERVER, serverIp), text(Opt.BOOTFILE, answer.file));
  } else {
    reply.siaddr = serverIp;
    reply.file = fixedField(answer.url, 128);
    opts.push(text(Opt.BOOTFILE, answer.url));
  }
  // UEFI HTTP boot ignores answers without vendor class HTTPClient; PXE ROMs (and proxyDHCP
  // in particular) want PXEClient echoed plus discovery control in option 43.
  if (answer.via === 'http' && answer.vendorClass === 'HTTPClient')
    opts.push(text(Opt.VENDOR_CLASS, 'HTTPClient'));
  else if (client.vendorClass.startsWith('PXEClient')) {
    opts.push(text(Opt.VENDOR_CLASS, 'PXEClient'), pxeVendorOptions());
  }
  const uuid = getOption(req, Opt.CLIENT_UUID);
  if (uuid) opts.push({ code: Opt.CLIENT_UUID, data: Buffer.from(uuid) });
  reply.options.push(...opts);
  return true;
}

/** The boot file a reply carries (tests and logs). */
export function bootFileOf(reply: DhcpPacket): string | undefined {
  const o = getOption(reply, Opt.BOOTFILE);
  return o ? o.toString('latin1') : fieldText(reply.file) || undefined;
}
