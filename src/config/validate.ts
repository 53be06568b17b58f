// Schema validation of the merged config, with errors that name where the bad value
// came from: `site.yaml: late_commands/10_x: expected ...`.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError } from '../util/errors.js';
import { configSchema } from './schema.js';
import { sourceOf, type ConfigMap, type Provenance } from './merge.js';

export class ConfigValidationError extends ValidationError {
  readonly problems: string[];
  constructor(problems: string[]) {
    const [first = 'config: invalid', ...rest] = problems;
    const cut =
      first.indexOf(': expected') >= 0 ? first.indexOf(': expected') : first.lastIndexOf(': ');
    super(first.slice(0, cut), first.slice(cut + 2) + (rest.length ? `\n${rest.join('\n')}` : ''));
    this.name = 'ConfigValidationError';
    this.problems = problems;
  }
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // Compiled on first use: startup of commands that never validate stays fast.
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'errorLabel', schemaType: 'string' });
    compiled = ajv.compile(configSchema);
  }
  return compiled;
}

/** Throws ConfigValidationError listing every problem, each naming file and key path. */
export function validateConfig(config: ConfigMap, provenance: Provenance): void {
  const validate = validator();
  if (validate(config)) return;
  const problems = describeErrors(validate.errors ?? [], config, provenance);
  throw new ConfigValidationError(problems);
}

export function describeErrors(
  errors: readonly ErrorObject[],
  config: ConfigMap,
  provenance: Provenance,
): string[] {
  // Errors inside an anyOf branch are noise: the anyOf error itself (with its label) says
  // what was expected. Keep only errors not below a failed anyOf's path.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const useful = errors.filter(
    (e) =>
      e.keyword !== 'if' &&
      !anyOfPaths.some(
        (p) => e.schemaPath !== p && e.schemaPath.startsWith(p.replace(/anyOf$/, '')),
      ),
  );
  const out: string[] = [];
  for (const e of useful) {
    const keyPath = pointerToPath(e.instancePath);
    const line = describeOne(e, keyPath, config);
    const where = line.keyPath || '(top level)';
    const file = sourceOf(provenance, line.keyPath) ?? 'config';
    const msg = `${file}: ${where}: ${line.problem}`;
    if (!out.includes(msg)) out.push(msg);
  }
  return out;
}

function describeOne(
  e: ErrorObject,
  keyPath: string,
  config: ConfigMap,
): { keyPath: string; problem: string } {
  const found = describeValue(valueAt(config, keyPath));
  switch (e.keyword) {
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return { keyPath, problem: `expected key "${missing}" (missing)` };
    }
    case 'type':
      return { keyPath, problem: `expected ${typeWords(e.params)}, found ${found}` };
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return {
        keyPath,
        problem: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, found ${found}`,
      };
    }
    case 'anyOf': {
      const label = (e.parentSchema as { errorLabel?: string } | undefined)?.errorLabel;
      return { keyPath, problem: `expected ${label ?? 'another kind of value'}, found ${found}` };
    }
    case 'pattern':
      return {
        keyPath,
        problem: `expected a value matching ${String((e.params as { pattern: string }).pattern)}, found ${found}`,
      };
    case 'minLength':
      return { keyPath, problem: `expected a non-empty string, found ${found}` };
    default:
      return { keyPath, problem: `expected: ${e.message ?? e.keyword}, found ${found}` };
  }
}

function typeWords(params: unknown): string {
  const t = (params as { type: string | string[] }).type;
  const list = Array.isArray(t) ? t : String(t).split(',');
  const words = list.map((x) =>
    x === 'object' ? 'a mapping' : x === 'array' ? 'a list' : x === 'null' ? 'null' : `a ${x}`,
  );
  return words.join(' or ');
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('/');
}

function valueAt(config: ConfigMap, keyPath: string): unknown {
  let cur: unknown = config;
  for (const part of keyPath ? keyPath.split('/') : []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    // Commands are lists of strings: point at the item that is not one (YAML `true`, `1.0`).
    const bad = v.findIndex((x) => typeof x !== 'string' && typeof x !== 'number');
    return bad < 0 ? 'a list' : `a list whose item ${bad} is ${describeValue(v[bad])}`;
  }
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}
