#!/usr/bin/env node
// Reply latency per second of a DHCP load run, from a pcap taken on the client side
// (bench/dhcp/trace.sh writes one): each DISCOVER is paired with the OFFER of the same
// xid, each REQUEST with its ACK. Prints count, p50, p90, p99 and max per second of the
// run and per reply type, so a slow first second or a stall shows where it happened. A
// second argument sets a finer bucket (ms), e.g. 50 for the first second's backlog; the
// count of requests sent in each bucket is printed with it.
//   node bench/dhcp/latency.mjs capture.pcap [bucket-ms]
import { readFileSync } from 'node:fs';

const buf = readFileSync(process.argv[2] ?? '/dev/stdin');
const magic = buf.readUInt32LE(0);
const nano = magic === 0xa1b23c4d;
if (magic !== 0xa1b2c3d4 && !nano) throw new Error('not a little-endian pcap file');
const linkType = buf.readUInt32LE(20);
const l2 = linkType === 1 ? 14 : linkType === 113 ? 16 : undefined; // Ethernet, Linux SLL
if (l2 === undefined) throw new Error(`link type ${linkType} not handled`);

/** Option 53 of a DHCP message starting at `p`. */
function messageType(p, end) {
  for (let i = p + 240; i < end - 1;) {
    const code = buf[i];
    if (code === 0) i++;
    else if (code === 255) return undefined;
    else if (code === 53) return buf[i + 2];
    else i += 2 + buf[i + 1];
  }
  return undefined;
}

const sent = new Map(); // `${type}:${xid}` -> time
const bucketMs = Number(process.argv[3] ?? 1000);
const lat = new Map(); // `${bucket} ${OFFER|ACK}` -> ms[]
const asked = new Map(); // `${bucket} ${OFFER|ACK}` -> requests sent in it
/** The bucket of a request sent at `at` (s), by the reply it asks for. */
const bucketOf = (at, reply) => `${Math.floor(((at - t0) * 1000) / bucketMs)} ${reply}`;
let t0;
for (let off = 24; off + 16 <= buf.length;) {
  const t = buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) / (nano ? 1e9 : 1e6);
  const incl = buf.readUInt32LE(off + 8);
  const start = off + 16;
  off = start + incl;
  t0 ??= t;
  const ihl = (buf[start + l2] & 15) * 4;
  const p = start + l2 + ihl + 8; // after the UDP header
  if (p + 240 > off) continue;
  const op = buf[p];
  const xid = buf.readUInt32BE(p + 4);
  const type = messageType(p, off);
  if (op === 1) {
    sent.set(`${type}:${xid}`, t);
    const key = bucketOf(t, type === 1 ? 'OFFER' : 'ACK');
    asked.set(key, (asked.get(key) ?? 0) + 1);
  } else if (type === 2 || type === 5) {
    const at = sent.get(`${type === 2 ? 1 : 3}:${xid}`);
    if (at === undefined) continue;
    const key = bucketOf(at, type === 2 ? 'OFFER' : 'ACK');
    if (!lat.has(key)) lat.set(key, []);
    lat.get(key).push((t - at) * 1000);
  }
}
const q = (v, f) => v[Math.min(v.length - 1, Math.floor(v.length * f))].toFixed(2);
for (const [key, v] of [...lat].sort(
  (a, b) => parseInt(a[0]) - parseInt(b[0]) || a[0].localeCompare(b[0]),
)) {
  v.sort((a, b) => a - b);
  const [b, kind] = key.split(' ');
  const at = bucketMs === 1000 ? `s${b}` : `${b * bucketMs}ms`;
  console.log(
    `${at} ${kind}: asked=${asked.get(key) ?? 0} n=${v.length} p50=${q(v, 0.5)} p90=${q(v, 0.9)} p99=${q(v, 0.99)} max=${v.at(-1).toFixed(1)} ms`,
  );
}
