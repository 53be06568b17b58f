// Runs inside a test namespace (`ip netns exec NS node dhcp-probe.mjs SPEC`): sends raw
// datagrams from a socket bound to SPEC.bind and prints every datagram received within
// SPEC.listenMs as a JSON line {from, port, hex}. Packets are built and decoded by the
// test with pxm's codec; this side only moves bytes, so it needs no TypeScript.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const spec = JSON.parse(process.argv[2]);
const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
sock.on('message', (msg, r) => {
  process.stdout.write(
    JSON.stringify({ from: r.address, port: r.port, hex: msg.toString('hex') }) + '\n',
  );
});
sock.bind(spec.bind.port, spec.bind.address, async () => {
  sock.setBroadcast(true);
  for (const s of spec.send) {
    await new Promise((ok, fail) =>
      sock.send(Buffer.from(s.hex, 'hex'), s.to.port, s.to.address, (e) => (e ? fail(e) : ok())),
    );
    if (s.pauseMs) await new Promise((r) => setTimeout(r, s.pauseMs));
  }
  setTimeout(() => sock.close(), spec.listenMs ?? 1500);
});
