// `type: print`: event lines on the console (stderr when stdout carries JSON).
import type { ReportEvent, ReportHandler } from '../events.js';
import { eventLine } from './format.js';

export class PrintHandler implements ReportHandler {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  publish(ev: ReportEvent): void {
    this.out.write(`${eventLine(ev)}\n`);
  }
}
