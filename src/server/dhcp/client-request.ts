// One BOOTREQUEST as a client sends it (all fields zero but the ones a caller cares
// about): the warm-up synthesises its exchanges with it (warm-up.ts), and DHCP tests state
// only what differs: the MAC, the message type, options.
import { BOOTREQUEST, type DhcpOption, type DhcpPacket } from './packet.js';
import { Opt, u8 } from './options.js';

/** `mac` as 6 bytes (or "aa:bb:..."); `over` replaces any field (xid, flags, giaddr...). */
export function clientPacket(
  mac: number[] | string,
  type: number,
  opts: DhcpOption[] = [],
  over: Partial<DhcpPacket> = {},
): DhcpPacket {
  const bytes = typeof mac === 'string' ? mac.split(':').map((h) => parseInt(h, 16)) : mac;
  const chaddr = Buffer.alloc(16);
  Buffer.from(bytes).copy(chaddr);
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: Buffer.alloc(64),
    file: Buffer.alloc(128),
    options: [u8(Opt.MESSAGE_TYPE, type), ...opts],
    ...over,
  };
}
