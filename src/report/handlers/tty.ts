// On a terminal: an ora spinner naming the running step, with byte progress for long
// steps (extraction). Command output is printed above the spinner, never through it.
import ora, { type Ora } from 'ora';
import type { ProgressUpdate, ReportEvent, ReportHandler } from '../events.js';
import { formatBytes } from './format.js';

export class TtyHandler implements ReportHandler {
  /**
   * A spinner needs a real terminal with a width: under `script` or a serial console
   * without a window size, columns is 0 and ora's line arithmetic never finishes.
   */
  static usable(stream: NodeJS.WriteStream): boolean {
    return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0;
  }

  private readonly spinner: Ora;
  private current = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.spinner = ora({ stream, discardStdin: false });
  }

  publish(ev: ReportEvent): void {
    if (ev.event_type === 'start') {
      this.current = ev.description;
      this.spinner.start(`${ev.name}: ${ev.description}`);
      return;
    }
    const text = `${ev.name}: ${ev.description}`;
    if (!ev.name.includes('/')) {
      // The top-level event: the install is over.
      if (ev.result === 'FAIL') this.spinner.fail(text);
      else if (ev.result === 'WARN') this.spinner.warn(text);
      else this.spinner.succeed(text);
      return;
    }
    if (ev.result === 'FAIL') this.spinner.fail(text);
    else if (ev.name.split('/').length === 2) this.spinner.succeed(text);
  }

  progress(u: ProgressUpdate): void {
    const done = u.unit === 'bytes' ? formatBytes(u.done) : String(u.done);
    const total =
      u.total === undefined ? '' : ` / ${u.unit === 'bytes' ? formatBytes(u.total) : u.total}`;
    const pct = u.total ? ` (${Math.floor((100 * u.done) / u.total)}%)` : '';
    this.spinner.text = `${u.name}: ${this.current} ${done}${total}${pct}`;
  }

  /** Prints command output without tearing the spinner line. */
  writeOutput(chunk: string | Buffer): void {
    const spinning = this.spinner.isSpinning;
    if (spinning) this.spinner.clear();
    this.stream.write(chunk);
    if (spinning) this.spinner.render();
  }

  flush(): Promise<void> {
    if (this.spinner.isSpinning) this.spinner.stop();
    return Promise.resolve();
  }
}
