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

// The boot answers are few (one per firmware type and server address), and every reply
// carries one: their fields and options are built once and shared (never written in
// place), bounded because the answer is the controller's to choose.
const answerParts = new Map<string, { field: Buffer; option: DhcpOption }>();
const VENDOR_PXE = pxeVendorOptions();
const VENDOR_PXECLIENT = text(Opt.VENDOR_CLASS, 'PXEClient');
const VENDOR_HTTP = text(Opt.VENDOR_CLASS, 'HTTPClient');

function cachedPart(key: string, make: () => { field: Buffer; option: DhcpOption }) {
  let v = answerParts.get(key);
  if (!v) {
    if (answerParts.size >= 256) answerParts.clear();
    v = make();
    answerParts.set(key, v);
  }
  return v;
}

/** A fixed sname/file field holding `s` and the text option `code` with the same value. */
function fieldAndOption(code: number, s: string, size: number) {
  return cachedPart(`${code} ${size} ${s}`, () => ({
    field: fixedField(s, size),
    option: text(code, s),
  }));
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
  const opts = reply.options;
  if (answer.via === 'tftp') {
    const server = fieldAndOption(Opt.TFTP_SERVER, serverIp, 64);
    const file = fieldAndOption(Opt.BOOTFILE, answer.file, 128);
    reply.siaddr = serverIp;
    reply.sname = server.field;
    reply.file = file.field;
    opts.push(server.option, file.option);
  } else {
    const url = fieldAndOption(Opt.BOOTFILE, answer.url, 128);
    reply.siaddr = serverIp;
    reply.file = url.field;
    opts.push(url.option);
  }
  // UEFI HTTP boot ignores answers without vendor class HTTPClient; PXE ROMs (and proxyDHCP
  // in particular) want PXEClient echoed plus discovery control in option 43.
  if (answer.via === 'http' && answer.vendorClass === 'HTTPClient') opts.push(VENDOR_HTTP);
  else if (client.vendorClass.startsWith('PXEClient')) {
    opts.push(VENDOR_PXECLIENT, VENDOR_PXE);
  }
  // The request's own bytes (a decoded packet is a copy nobody writes to).
  const uuid = getOption(req, Opt.CLIENT_UUID);
  if (uuid) opts.push({ code: Opt.CLIENT_UUID, data: uuid });
  return true;
}

/** The boot file a reply carries (tests and logs). */
export function bootFileOf(reply: DhcpPacket): string | undefined {
  const o = getOption(reply, Opt.BOOTFILE);
  return o ? o.toString('latin1') : fieldText(reply.file) || undefined;
}
