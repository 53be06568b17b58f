// The install log: command output and event lines, in the order they happened. Written
// synchronously so a crash or a failing stage never loses the last lines, and so the
// final webhook event can attach a complete copy.
import { appendFileSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';

export class InstallLog {
  readonly path: string | undefined;
  private fd: number | undefined;

  /** `file` undefined: an in-memory-less log that drops everything (dry-run, disabled). */
  constructor(file: string | undefined, opts: { append?: boolean } = {}) {
    this.path = file;
    if (file) {
      mkdirSync(path.dirname(file), { recursive: true });
      this.fd = openSync(file, opts.append ? 'a' : 'w', 0o600);
    }
  }

  write(chunk: string | Buffer): void {
    if (this.fd !== undefined) appendFileSync(this.fd, chunk);
  }

  line(text: string): void {
    this.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  contents(): Buffer {
    return this.path ? readFileSync(this.path) : Buffer.alloc(0);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
