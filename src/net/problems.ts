// Collects every problem in a network config before reporting, so a user fixes them all
// in one round instead of one per run.
import { ValidationError } from '../util/errors.js';

export interface Problem {
  /** Key path of the entry, e.g. `network/config[3] (bond0)` or `network/bonds/bond0`. */
  where: string;
  problem: string;
}

export class Problems {
  readonly list: Problem[] = [];
  add(where: string, problem: string): void {
    this.list.push({ where, problem });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  /** Throws a NetworkConfigError listing every problem, if there are any. */
  throwIfAny(source?: string): void {
    if (!this.empty) throw new NetworkConfigError(this.list, source);
  }
}

/** A network config that failed validation; exit status 2 like every ValidationError. */
export class NetworkConfigError extends ValidationError {
  readonly problems: Problem[];
  constructor(problems: Problem[], source?: string) {
    const first = problems[0] ?? { where: 'network', problem: 'invalid' };
    super(first.where, first.problem);
    this.name = 'NetworkConfigError';
    this.problems = problems;
    const head = source ? `invalid network config in ${source}:\n` : '';
    this.message =
      problems.length === 1 && !source
        ? `${first.where}: ${first.problem}`
        : head + problems.map((p) => `  ${p.where}: ${p.problem}`).join('\n');
  }
}
