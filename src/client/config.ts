// Where `pxm nodes` finds its server: PXM_URL/PXM_API_KEY, else what `pxm login` saved
// (~/.config/pxm/client.json, mode 0600: it holds the API key).
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, PxmError } from '../util/errors.js';
import { ApiClient } from './api.js';

export interface ClientConfig {
  url: string;
  apiKey: string;
}

export function clientConfigFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'pxm', 'client.json');
}

export function saveClientConfig(cfg: ClientConfig): string {
  const file = clientConfigFile();
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function loadClientConfig(): ClientConfig {
  let saved: Partial<ClientConfig> = {};
  try {
    saved = JSON.parse(readFileSync(clientConfigFile(), 'utf8')) as Partial<ClientConfig>;
  } catch {
    /* no saved login: the environment must supply both */
  }
  const url = process.env.PXM_URL || saved.url;
  const apiKey = process.env.PXM_API_KEY || saved.apiKey;
  if (!url || !apiKey) {
    throw new PxmError('no pxm server configured', {
      exitCode: ExitCode.UNAUTHORIZED,
      hint: 'run `pxm login URL KEY` or set PXM_URL and PXM_API_KEY',
    });
  }
  return { url, apiKey };
}

export function clientFromEnv(): ApiClient {
  const c = loadClientConfig();
  return new ApiClient(c.url, c.apiKey);
}
