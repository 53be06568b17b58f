// Shows the build's stages on the terminal: an ora spinner per running stage on a TTY,
// one line per start/finish otherwise (CI logs, test output).
import ora, { type Ora } from 'ora';
import type { ReportEvent, ReportHandler } from '../report/events.js';

export class StageProgress implements ReportHandler {
  private readonly spinners = new Map<string, Ora>();
  private readonly started = new Map<string, number>();
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  publish(event: ReportEvent): void {
    const depth = event.name.split('/').length - 1;
    const indent = '  '.repeat(Math.max(0, depth - 1));
    if (event.event_type === 'start') {
      this.started.set(event.name, Date.now());
      if (this.tty) {
        this.spinners.get(this.parentOf(event.name))?.stopAndPersist({ symbol: '…' });
        this.spinners.set(
          event.name,
          ora({ text: `${indent}${event.description}`, stream: this.stream }).start(),
        );
      } else {
        this.stream.write(`${indent}> ${event.description}\n`);
      }
      return;
    }
    const secs = ((Date.now() - (this.started.get(event.name) ?? Date.now())) / 1000).toFixed(1);
    const text = `${indent}${event.description} (${secs} s)`;
    const spinner = this.spinners.get(event.name);
    this.spinners.delete(event.name);
    if (spinner) {
      if (event.result === 'FAIL') spinner.fail(text);
      else spinner.succeed(text);
    } else {
      this.stream.write(`${indent}${event.result === 'FAIL' ? 'FAILED' : 'done'}: ${text}\n`);
    }
  }

  private parentOf(name: string): string {
    return name.split('/').slice(0, -1).join('/');
  }
}
