// `pxm server --config FILE`: YAML settings; flags given on the command line win.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parse } from 'yaml';
import { ValidationError } from '../util/errors.js';
import type { LifecycleTimeouts } from './lifecycle.js';

export interface ServerConfig {
  dataDir?: string;
  listen?: string;
  httpPort?: number;
  domain?: string;
  timeouts?: Partial<LifecycleTimeouts>;
  installerWithNode?: boolean;
  /** Processes serving HTTP (`http_workers`: auto or 1..64), resolved to a number. */
  httpWorkers?: number;
  /** The raw `dhcp:` section; validated by src/server/dhcp/config.ts when DHCP runs. */
  dhcp?: unknown;
}

const TIMEOUT_KEYS: Record<string, keyof LifecycleTimeouts> = {
  commissioning: 'COMMISSIONING',
  deploying: 'DEPLOYING',
  releasing: 'RELEASING',
};

export const MAX_HTTP_WORKERS = 64;

/**
 * What `auto` means on a machine with `cpus` CPUs: one worker per CPU, except on one or
 * two CPUs, where workers next to the main process (and the clients) measured slower
 * than the main process alone (docs/benchmarks/server.md).
 */
export function autoHttpWorkers(cpus: number): number {
  return cpus <= 2 ? 1 : Math.min(MAX_HTTP_WORKERS, cpus);
}

/**
 * `--http-workers` / `http_workers`: `auto` (autoHttpWorkers) or a whole number 1..64.
 * `where` names the flag or key in the error.
 */
export function parseHttpWorkers(where: string, v: unknown): number {
  if (v === 'auto') return autoHttpWorkers(os.availableParallelism());
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_HTTP_WORKERS)
    throw new ValidationError(
      where,
      `must be auto or a whole number 1..${MAX_HTTP_WORKERS} (got ${JSON.stringify(v)})`,
    );
  return n;
}

export function loadServerConfig(file: string): ServerConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ValidationError(file, `cannot read: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ValidationError(file, 'must be a YAML mapping');
  const out: ServerConfig = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const where = `${file}: ${k}`;
    switch (k) {
      case 'data_dir':
      case 'listen':
      case 'domain':
        if (typeof v !== 'string' || !v)
          throw new ValidationError(where, 'must be a non-empty string');
        if (k === 'data_dir') out.dataDir = v;
        else if (k === 'listen') out.listen = v;
        else out.domain = v;
        break;
      case 'http_port':
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 65535)
          throw new ValidationError(where, 'must be a port number 0..65535');
        out.httpPort = v as number;
        break;
      case 'timeouts': {
        if (typeof v !== 'object' || v === null)
          throw new ValidationError(where, 'must be a mapping');
        out.timeouts = {};
        for (const [tk, tv] of Object.entries(v as Record<string, unknown>)) {
          const key = TIMEOUT_KEYS[tk];
          if (!key)
            throw new ValidationError(
              `${where}.${tk}`,
              `unknown timeout (known: ${Object.keys(TIMEOUT_KEYS).join(', ')})`,
            );
          if (typeof tv !== 'number' || !(tv > 0))
            throw new ValidationError(`${where}.${tk}`, 'must be a number of seconds > 0');
          out.timeouts[key] = tv;
        }
        break;
      }
      case 'installer_with_node':
        if (typeof v !== 'boolean') throw new ValidationError(where, 'must be true or false');
        out.installerWithNode = v;
        break;
      case 'http_workers':
        out.httpWorkers = parseHttpWorkers(where, v);
        break;
      case 'dhcp':
        out.dhcp = v;
        break;
      default:
        throw new ValidationError(
          where,
          'unknown key (known: data_dir, listen, http_port, domain, timeouts, installer_with_node, http_workers, dhcp)',
        );
    }
  }
  return out;
}
