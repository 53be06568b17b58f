// curtin's reporting model: hierarchical start/finish events.
//
// A stage, builtin or command is an EventStack. Its name is its parent's name plus
// `/child` (`cmd-install/stage-late/01_env`), which is also what commands see as
// CURTIN_REPORTSTACK. A child that fails makes every ancestor finish with FAIL; a WARN
// propagates the same way unless something worse happened. Handlers (log, print,
// webhook, JSON lines) receive exactly the events MAAS's status endpoint expects.

export type ResultLevel = 'SUCCESS' | 'WARN' | 'FAIL';

export interface ReportFile {
  path: string;
  content: string;
  encoding: 'base64';
}

export interface ReportEvent {
  name: string;
  description: string;
  event_type: 'start' | 'finish';
  origin: string;
  timestamp: number;
  level: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG';
  result?: ResultLevel;
  files?: ReportFile[];
}

/** Byte or item progress of a long step; for terminals and JSON streams, not webhooks. */
export interface ProgressUpdate {
  name: string;
  description: string;
  done: number;
  total?: number;
  unit: 'bytes' | 'items';
}

export interface ReportHandler {
  publish(event: ReportEvent): void | Promise<void>;
  progress?(update: ProgressUpdate): void;
  /** Waits until everything published has been delivered (or given up on). */
  flush?(): Promise<void>;
}

const severity: Record<ResultLevel, number> = { SUCCESS: 0, WARN: 1, FAIL: 2 };

export class Reporter {
  readonly origin: string;
  private readonly handlers: ReportHandler[];
  private pending: Promise<unknown>[] = [];

  constructor(handlers: ReportHandler[] = [], origin = 'curtin') {
    this.handlers = handlers;
    this.origin = origin;
  }

  addHandler(h: ReportHandler): void {
    this.handlers.push(h);
  }

  stack(name: string, description: string): EventStack {
    return new EventStack(this, name, description, undefined);
  }

  emit(event: ReportEvent): void {
    for (const h of this.handlers) {
      try {
        const p = h.publish(event);
        if (p) this.pending.push(p.catch(() => undefined));
      } catch {
        // A broken handler must not break the install; handlers log their own failures.
      }
    }
  }

  progress(update: ProgressUpdate): void {
    for (const h of this.handlers) h.progress?.(update);
  }

  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    await Promise.all(this.handlers.map((h) => h.flush?.()));
  }
}

export class EventStack {
  readonly reporter: Reporter;
  readonly name: string;
  readonly description: string;
  readonly parent: EventStack | undefined;
  /** Worst result reported by a child so far; the stack finishes with at least this. */
  private childResult: ResultLevel = 'SUCCESS';
  private started = false;

  constructor(
    reporter: Reporter,
    name: string,
    description: string,
    parent: EventStack | undefined,
  ) {
    this.reporter = reporter;
    this.name = name;
    this.description = description;
    this.parent = parent;
  }

  child(name: string, description: string): EventStack {
    return new EventStack(this.reporter, `${this.name}/${name}`, description, this);
  }

  start(): void {
    this.started = true;
    this.reporter.emit(this.event('start', this.description));
  }

  /**
   * Finishes the stack. The result is the worse of `result` and any child's; it is
   * passed up so that parents finish no better.
   */
  finish(result: ResultLevel = 'SUCCESS', description?: string, files?: ReportFile[]): ResultLevel {
    const final = worse(result, this.childResult);
    const ev = this.event('finish', description ?? this.description);
    ev.result = final;
    ev.level = final === 'FAIL' ? 'ERROR' : final === 'WARN' ? 'WARN' : 'INFO';
    if (files?.length) ev.files = files;
    this.reporter.emit(ev);
    if (this.parent) this.parent.childResult = worse(this.parent.childResult, final);
    return final;
  }

  /** Marks this stack as having a warning without failing it. */
  warn(): void {
    this.childResult = worse(this.childResult, 'WARN');
  }

  progress(done: number, total: number | undefined, unit: ProgressUpdate['unit'] = 'bytes'): void {
    this.reporter.progress({ name: this.name, description: this.description, done, total, unit });
  }

  /** start, run `fn` with this stack, finish with SUCCESS or FAIL (rethrowing). */
  async run<T>(fn: (stack: EventStack) => Promise<T>): Promise<T> {
    if (!this.started) this.start();
    try {
      const value = await fn(this);
      this.finish('SUCCESS');
      return value;
    } catch (error) {
      this.finish('FAIL', failDescription(this.description, error));
      throw error;
    }
  }

  private event(type: 'start' | 'finish', description: string): ReportEvent {
    return {
      name: this.name,
      description,
      event_type: type,
      origin: this.reporter.origin,
      timestamp: Date.now() / 1000,
      level: 'INFO',
    };
  }
}

function worse(a: ResultLevel, b: ResultLevel): ResultLevel {
  return severity[a] >= severity[b] ? a : b;
}

function failDescription(description: string, error: unknown): string {
  const msg = error instanceof Error ? error.message : String(error);
  return `${description}: ${msg.split('\n')[0]}`;
}
