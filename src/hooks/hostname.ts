// hostname: `hostname:` (short name or FQDN, optional `fqdn:`) into /etc/hostname and a
// `127.0.1.1 FQDN SHORT` line in /etc/hosts (Debian's convention; other lines kept).
import { ValidationError } from '../util/errors.js';
import type { HookModule } from './types.js';
import { readTargetFile, writeTargetFile } from './target-files.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function validName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

export interface Identity {
  short: string;
  fqdn: string;
}

export function parseIdentity(config: Record<string, unknown>): Identity | undefined {
  const h = config.hostname;
  if (h === undefined || h === null) return undefined;
  if (typeof h !== 'string' || !validName(h))
    throw new ValidationError('hostname', `not a valid host name: ${JSON.stringify(h)}`);
  const f = config.fqdn ?? h;
  if (typeof f !== 'string' || !validName(f))
    throw new ValidationError('fqdn', `not a valid domain name: ${JSON.stringify(f)}`);
  return { short: h.split('.')[0] as string, fqdn: f };
}

/** /etc/hosts with exactly one 127.0.1.1 line for this machine; other lines untouched. */
export function renderHosts(existing: string | undefined, id: Identity): string {
  const names = id.fqdn === id.short ? id.short : `${id.fqdn} ${id.short}`;
  const lines = (existing ?? '127.0.0.1\tlocalhost\n')
    .split('\n')
    .filter((l) => !/^\s*127\.0\.1\.1\s/.test(l));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const at = lines.findIndex((l) => /^\s*127\.0\.0\.1\s/.test(l));
  lines.splice(at >= 0 ? at + 1 : 0, 0, `127.0.1.1\t${names}`);
  return lines.join('\n') + '\n';
}

export const hostnameHook: HookModule = {
  name: 'hostname',
  description: 'setting the host name',
  keys: ['hostname', 'fqdn'],
  validate: (config) => void parseIdentity(config),
  async run(ctx) {
    const id = parseIdentity(ctx.config);
    if (!id) {
      ctx.log('hostname: no hostname: in the config; left as the image has it');
      return;
    }
    await writeTargetFile(ctx.runner, ctx.target, '/etc/hostname', `${id.short}\n`, {
      description: 'host name',
    });
    const hosts = await readTargetFile(ctx.target, '/etc/hosts');
    await writeTargetFile(ctx.runner, ctx.target, '/etc/hosts', renderHosts(hosts, id), {
      description: '/etc/hosts entry for the host name',
    });
  },
};
