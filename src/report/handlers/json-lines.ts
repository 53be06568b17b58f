// `--json`: every event as one JSON line on stdout, for CI. Progress updates are lines
// with event_type "progress", at most a few per second per step (they can come per chunk).
import type { ProgressUpdate, ReportEvent, ReportHandler } from '../events.js';

export class JsonLinesHandler implements ReportHandler {
  private lastProgress = new Map<string, number>();
  private completed = new Set<string>();
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  publish(ev: ReportEvent): void {
    this.out.write(`${JSON.stringify(ev)}\n`);
  }

  progress(u: ProgressUpdate): void {
    const now = Date.now();
    const last = this.lastProgress.get(u.name) ?? 0;
    const complete = u.total !== undefined && u.done >= u.total;
    if (!complete && now - last < 250) return;
    // The completion of a step is reported once, however often the module repeats it.
    if (complete && this.completed.has(u.name)) return;
    if (complete) this.completed.add(u.name);
    this.lastProgress.set(u.name, now);
    this.out.write(`${JSON.stringify({ event_type: 'progress', timestamp: now / 1000, ...u })}\n`);
  }
}
