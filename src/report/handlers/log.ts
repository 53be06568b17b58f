// `type: log`: event lines into the install log (curtin's default handler).
import type { ReportEvent, ReportHandler } from '../events.js';
import type { InstallLog } from '../install-log.js';
import { eventLine } from './format.js';

export class LogHandler implements ReportHandler {
  constructor(private readonly log: InstallLog) {}
  publish(ev: ReportEvent): void {
    const ts = new Date(ev.timestamp * 1000).toISOString();
    this.log.line(`${ts} ${eventLine(ev)}`);
  }
}
