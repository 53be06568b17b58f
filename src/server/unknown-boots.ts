// What machines that are no node yet did while netbooting: pxm's DHCP answers and the boot
// files they asked for, kept in memory per MAC until the machine enlists (the new node
// then adopts them as its first events, see Controller.createNode) or they age out.
// Anything on the network can send DHCP and TFTP requests, so everything here is bounded:
// the number of MACs, events per MAC, their age, and the length of client-chosen names.

export interface UnknownBootLimits {
  /** MACs tracked at once; the least recently active one is forgotten first. */
  maxMacs: number;
  /** Events kept per MAC; the oldest are dropped (a looping machine keeps its last boot). */
  maxEventsPerMac: number;
  /** Events older than this are forgotten. */
  maxAgeMs: number;
  /** File names and boot files longer than this are cut (clients choose them). */
  maxNameLength: number;
}

export const DEFAULT_UNKNOWN_BOOT_LIMITS: UnknownBootLimits = {
  maxMacs: 1024,
  maxEventsPerMac: 32,
  maxAgeMs: 3_600_000,
  maxNameLength: 160,
};

/** One step of a netboot, as the DHCP and boot-file glue reports it. */
export type BootStep =
  | {
      kind: 'dhcp';
      /** OFFER, ACK, ... */
      message: string;
      /** The address offered or acknowledged (none in proxy mode). */
      ip?: string;
      /** The boot file the answer carried; none for the booted OS's own DHCP. */
      bootFile?: string;
    }
  | {
      kind: 'file';
      via: 'tftp' | 'http';
      filename: string;
      remote: string;
      /** 'sent', or why the file was not served (e.g. "unknown MAC"). */
      result: string;
    };

/** A node event as the controller records it. */
export interface BootEvent {
  time: number;
  type: string;
  summary: string;
  data: Record<string, unknown>;
}

/** A step as noted: described (summary, clipped names) only when someone reads it. */
interface NotedStep {
  time: number;
  step: BootStep;
}

interface Entry {
  // Under a boot storm every OFFER and ACK to a new MAC lands here, so note() keeps the
  // step as given and leaves the words to events() and take(), which run rarely.
  events: NotedStep[];
  /** Events dropped because of maxEventsPerMac. */
  dropped: number;
  lastAt: number;
  ip: string | undefined;
}

/** Cuts a client-chosen name and replaces control characters (they reach terminals). */
export function clipName(s: string, max = DEFAULT_UNKNOWN_BOOT_LIMITS.maxNameLength): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/**
 * The event for a boot step, in the same words as a known node's boot events
 * (`tftp: pxelinux.0 sent to 10.0.0.5`), so adopted and live events read alike.
 */
export function describeBootStep(
  step: BootStep,
  mac: string | undefined,
  maxName = DEFAULT_UNKNOWN_BOOT_LIMITS.maxNameLength,
): Omit<BootEvent, 'time'> {
  const withMac = mac ? { mac } : {};
  if (step.kind === 'dhcp') {
    const bootFile = step.bootFile === undefined ? undefined : clipName(step.bootFile, maxName);
    return {
      type: 'dhcp',
      summary:
        `dhcp: ${step.message}${step.ip ? ` ${step.ip}` : ''}` +
        (bootFile ? `, boot file ${bootFile}` : ', no boot file'),
      data: { message: step.message, ip: step.ip ?? null, bootFile: bootFile ?? null, ...withMac },
    };
  }
  const filename = clipName(step.filename, maxName);
  const result = step.result === 'sent' ? 'sent' : clipName(step.result, maxName);
  return {
    type: 'boot',
    summary:
      result === 'sent'
        ? `${step.via}: ${filename} sent to ${step.remote}`
        : `${step.via}: ${filename} not sent to ${step.remote}: ${result}`,
    data: { filename, remote: step.remote, via: step.via, result, ...withMac },
  };
}

export class UnknownBoots {
  readonly limits: UnknownBootLimits;
  // Map order is activity order: note() moves a MAC to the end, so the first entry is the
  // least recently active (evicted first, and checked first for expiry).
  private readonly byMac = new Map<string, Entry>();
  private readonly macByIp = new Map<string, string>();

  constructor(
    limits: Partial<UnknownBootLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_UNKNOWN_BOOT_LIMITS, ...limits };
  }

  /**
   * A new, empty record with these limits and this clock: a stand-in that runs exactly the
   * code this one runs (the DHCP warm-up notes into it, attach.ts).
   */
  emptyLike(): UnknownBoots {
    return new UnknownBoots(this.limits, this.now);
  }

  get size(): number {
    return this.byMac.size;
  }

  /**
   * Keeps a step for `mac` (lower-case, colon-separated; the caller found no node for it).
   * A DHCP answer without a boot file is kept only for a MAC already netbooting (the booted
   * OS's own DHCP): other machines' DHCP is none of this record's business. An ACK links
   * its address to the MAC, so requests that name no MAC can be attributed (macAt).
   */
  note(mac: string, step: BootStep): void {
    const now = this.now();
    this.prune(now);
    let entry = this.byMac.get(mac);
    if (step.kind === 'dhcp' && step.bootFile === undefined && !entry) return;
    if (entry) this.byMac.delete(mac);
    else {
      entry = { events: [], dropped: 0, lastAt: now, ip: undefined };
      while (this.byMac.size >= this.limits.maxMacs) this.forget(this.byMac.keys().next().value!);
    }
    this.byMac.set(mac, entry);
    entry.lastAt = now;
    // Client-chosen names are cut now, so what is kept stays bounded until it is read.
    const max = this.limits.maxNameLength;
    const kept: BootStep =
      step.kind === 'file'
        ? { ...step, filename: clipName(step.filename, max), result: clipName(step.result, max) }
        : step;
    entry.events.push({ time: now, step: kept });
    if (entry.events.length > this.limits.maxEventsPerMac) {
      entry.events.shift();
      entry.dropped++;
    }
    if (step.kind === 'dhcp' && step.message === 'ACK' && step.ip) {
      if (entry.ip && this.macByIp.get(entry.ip) === mac) this.macByIp.delete(entry.ip);
      entry.ip = step.ip;
      this.macByIp.set(step.ip, mac);
    }
  }

  /** The MAC that pxm's DHCP last acknowledged `ip` to, while it is tracked here. */
  macAt(ip: string): string | undefined {
    this.prune(this.now());
    const mac = this.macByIp.get(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
    return mac && this.byMac.has(mac) ? mac : undefined;
  }

  has(mac: string): boolean {
    this.prune(this.now());
    return this.byMac.has(mac);
  }

  /** The kept events of one MAC, oldest first (a copy). */
  events(mac: string): BootEvent[] {
    this.prune(this.now());
    const e = this.byMac.get(mac);
    const cutoff = this.now() - this.limits.maxAgeMs;
    return e ? e.events.filter((ev) => ev.time >= cutoff).map((ev) => this.describe(ev, mac)) : [];
  }

  private describe(noted: NotedStep, mac: string): BootEvent {
    return { time: noted.time, ...describeBootStep(noted.step, mac, this.limits.maxNameLength) };
  }

  /**
   * Removes and returns the events of these MACs (one machine's NICs), merged oldest
   * first, led by a note when some were dropped. For the node that now owns them.
   */
  take(macs: readonly string[]): BootEvent[] {
    const cutoff = this.now() - this.limits.maxAgeMs;
    const out: BootEvent[] = [];
    for (const mac of new Set(macs)) {
      const e = this.byMac.get(mac);
      if (!e) continue;
      this.forget(mac);
      const kept = e.events.filter((ev) => ev.time >= cutoff);
      const dropped = e.dropped + e.events.length - kept.length;
      if (dropped > 0 && kept[0])
        out.push({
          time: kept[0].time,
          type: 'boot',
          summary: `(${dropped} earlier boot events of ${mac} were not kept)`,
          data: { mac, dropped },
        });
      out.push(...kept.map((ev) => this.describe(ev, mac)));
    }
    // Array.prototype.sort is stable: equal times keep their recorded order.
    return out.sort((a, b) => a.time - b.time);
  }

  private forget(mac: string): void {
    const e = this.byMac.get(mac);
    if (!e) return;
    this.byMac.delete(mac);
    if (e.ip && this.macByIp.get(e.ip) === mac) this.macByIp.delete(e.ip);
  }

  /** Drops MACs silent for longer than maxAgeMs (they sit at the front of the map). */
  private prune(now: number): void {
    for (const [mac, e] of this.byMac) {
      if (e.lastAt >= now - this.limits.maxAgeMs) break;
      this.forget(mac);
    }
  }
}
