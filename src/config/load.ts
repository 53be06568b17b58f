// Loading the install config as curtin does: built-in defaults, then every `--config FILE`
// and `--set` in command-line order, then sources named on the command line.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ValidationError, errorMessage } from '../util/errors.js';
import { isMapping, mergeInto, type ConfigMap, type Provenance } from './merge.js';

/** One config input, in the order it was given. */
export type ConfigInput =
  | { kind: 'file'; path: string }
  | { kind: 'set'; arg: string }
  /** Text compiled into pxm (the embedded demo); `name` is what errors call it. */
  | { kind: 'text'; name: string; text: string };

export interface LoadedConfig {
  config: ConfigMap;
  provenance: Provenance;
}

export const BUILTIN_LABEL = 'built-in defaults';
export const CMDLINE_LABEL = 'command line';

export const DEFAULT_STAGES = [
  'early',
  'partitioning',
  'network',
  'extract',
  'curthooks',
  'hook',
  'late',
] as const;

/**
 * pxm's defaults: curtin's CONFIG_BUILTIN, except that partitioning defaults to
 * `block-meta custom` (pxm never picks disks itself, curtin's `simple` mode does) and
 * logs live under /var/log/pxm. The saved config and log in the target keep curtin's
 * paths, which MAAS and operators look for.
 */
export function builtinConfig(): ConfigMap {
  return {
    sources: {},
    stages: [...DEFAULT_STAGES],
    partitioning_commands: { builtin: ['curtin', 'block-meta', 'custom'] },
    network_commands: { builtin: ['curtin', 'net-meta', 'auto'] },
    extract_commands: { builtin: ['curtin', 'extract'] },
    curthooks_commands: { builtin: ['curtin', 'curthooks'] },
    hook_commands: { builtin: ['curtin', 'hook'] },
    late_commands: { builtin: [] },
    install: {
      log_file: '/var/log/pxm/install.log',
      error_tarfile: '/var/log/pxm/pxm-error-logs.tar',
      save_install_config: '/root/curtin-install-cfg.yaml',
      save_install_log: '/root/curtin-install.log',
    },
  };
}

/** Parses YAML text whose top level must be a mapping. `name` labels errors. */
export function parseConfigText(text: string, name: string): ConfigMap {
  // YAML 1.1 like curtin's PyYAML: `0644` is octal (write_files permissions), `yes` is true.
  const doc = parseDocument(text, { version: '1.1', merge: true, uniqueKeys: false });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new ValidationError(
      line ? `${name}: line ${line}` : name,
      `invalid YAML: ${err.message.split('\n')[0]}`,
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 10_000 });
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) {
    const what = Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ValidationError(name, `top level must be a mapping, found ${what}`);
  }
  return value;
}

export async function loadConfigFile(path: string): Promise<ConfigMap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, `cannot read config: ${errorMessage(error)}`);
  }
  return parseConfigText(text, path);
}

/**
 * curtin's `--set`: `a/b=v` sets a/b to the string v; `json:a/b=<json>` parses the value;
 * `json:={...}` (empty key) merges a whole mapping at the top.
 */
export function parseSetArg(arg: string): ConfigMap {
  const eq = arg.indexOf('=');
  if (eq < 0) throw new ValidationError(`--set ${arg}`, 'expected KEY=VALUE (no "=" found)');
  let key = arg.slice(0, eq);
  let value: unknown = arg.slice(eq + 1);
  const isJson = key.startsWith('json:');
  if (isJson) {
    key = key.slice(5);
    try {
      value = JSON.parse(value as string);
    } catch (error) {
      throw new ValidationError(`--set ${arg}`, `invalid JSON: ${errorMessage(error)}`);
    }
  }
  const items = key.split('/');
  const last = items.pop() ?? '';
  if (last === '' && items.length === 0) {
    if (!isMapping(value)) {
      throw new ValidationError(`--set ${arg}`, 'a value for the whole config must be a mapping');
    }
    return value;
  }
  if (last === '' || items.some((i) => i === '')) {
    throw new ValidationError(`--set ${arg}`, `empty component in key path "${key}"`);
  }
  const root: ConfigMap = {};
  let cur = root;
  for (const item of items) {
    const next: ConfigMap = {};
    cur[item] = next;
    cur = next;
  }
  cur[last] = value;
  return root;
}

/** Loads and merges everything; sources from the command line come last (curtin). */
export async function loadConfig(
  inputs: readonly ConfigInput[],
  cmdlineSources: readonly string[] = [],
): Promise<LoadedConfig> {
  const provenance: Provenance = new Map();
  const config: ConfigMap = {};
  mergeInto(config, builtinConfig(), BUILTIN_LABEL, provenance);
  for (const input of inputs) {
    if (input.kind === 'file') {
      mergeInto(config, await loadConfigFile(input.path), input.path, provenance);
    } else if (input.kind === 'text') {
      mergeInto(config, parseConfigText(input.text, input.name), input.name, provenance);
    } else {
      mergeInto(config, parseSetArg(input.arg), `--set ${input.arg}`, provenance);
    }
  }
  addCmdlineSources(config, cmdlineSources, provenance);
  return { config, provenance };
}

/** `pxm install SRC...`: each becomes `sources: {NN_cmdline: SRC}`, NN = count so far. */
export function addCmdlineSources(
  config: ConfigMap,
  sources: readonly string[],
  provenance: Provenance,
): void {
  if (!sources.length) return;
  if (Array.isArray(config.sources)) {
    // A list of sources (older configs): command-line sources are appended.
    const list = config.sources as unknown[];
    for (const src of sources) {
      provenance.set(`sources/${list.length}`, CMDLINE_LABEL);
      list.push(src);
    }
    return;
  }
  if (!isMapping(config.sources)) {
    config.sources = {};
    provenance.set('sources', CMDLINE_LABEL);
  }
  const map = config.sources as ConfigMap;
  for (const src of sources) {
    const key = `${String(Object.keys(map).length).padStart(2, '0')}_cmdline`;
    map[key] = src;
    provenance.set(`sources/${key}`, CMDLINE_LABEL);
  }
}

/**
 * Recovers the command-line order of `-c/--config FILE` and `--set X` (oclif groups flags
 * by name, but curtin applies them in the order given). Stops at `--`.
 */
export function orderedConfigInputs(argv: readonly string[]): ConfigInput[] {
  const out: ConfigInput[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    const take = (): string => argv[++i] ?? '';
    if (a === '-c' || a === '--config') out.push({ kind: 'file', path: take() });
    else if (a.startsWith('--config=')) out.push({ kind: 'file', path: a.slice(9) });
    else if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--'))
      out.push({ kind: 'file', path: a.slice(2) });
    else if (a === '--set') out.push({ kind: 'set', arg: take() });
    else if (a.startsWith('--set=')) out.push({ kind: 'set', arg: a.slice(6) });
  }
  return out;
}
