// fstab in curtin's format: a comment line naming the device the filesystem was on, then
// `SPEC PATH FSTYPE OPTIONS FREQ PASSNO` with SPEC = UUID=<uuid>. The UUID is read from
// the device with `blkid -p` (a low-level probe of the device itself): udev may not be
// running, so its database and /dev/disk/by-uuid are never consulted.
import type { Runner } from '../runner/runner.js';
import { PxmError } from '../util/errors.js';
import type { FstabEntry } from './types.js';

export async function probeUuid(runner: Runner, device: string): Promise<string> {
  const r = await runner.probe({
    argv: ['blkid', '-p', '-s', 'UUID', '-o', 'value', device],
    allowFailure: true,
  });
  const uuid = r.stdout.trim();
  if (r.exitCode !== 0 || uuid === '') {
    throw new PxmError(`fstab: blkid found no filesystem UUID on ${device} (exit ${r.exitCode})`);
  }
  return uuid;
}

export function fstabLine(e: FstabEntry, spec: string): string {
  const what = e.fstype === 'swap' ? 'swap' : e.path;
  const comment = `# ${what} was on ${e.device ?? spec} during curtin installation`;
  return `${comment}\n${spec} ${e.path} ${e.fstype} ${e.options} ${e.freq} ${e.passno}\n`;
}

/** UUIDs of many devices with one low-level blkid run (`-o export`: DEVNAME=, UUID= blocks). */
export async function probeUuids(runner: Runner, devices: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (devices.length === 0) return found;
  const r = await runner.probe({
    argv: ['blkid', '-p', '-s', 'UUID', '-o', 'export', ...devices],
    allowFailure: true,
  });
  let dev: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('DEVNAME=')) dev = line.slice('DEVNAME='.length);
    else if (line.startsWith('UUID=') && dev) found.set(dev, line.slice('UUID='.length));
  }
  return found;
}

/** The fstab text for the entries, with UUIDs probed from the devices now. */
export async function renderFstab(runner: Runner, entries: FstabEntry[]): Promise<string> {
  const devices = [
    ...new Set(entries.flatMap((e) => (e.spec === undefined && e.device ? [e.device] : []))),
  ];
  const uuids = await probeUuids(runner, devices);
  let out = '';
  for (const e of entries) {
    let spec = e.spec;
    if (spec === undefined) {
      const device = e.device as string;
      // One device blkid could not read in the batch: ask again alone for its error.
      spec = `UUID=${uuids.get(device) ?? (await probeUuid(runner, device))}`;
    }
    out += fstabLine(e, spec);
  }
  return out;
}
