// apt: curtin's `apt:` keys that shape the installed system's package manager:
//   proxy / http_proxy / https_proxy / ftp_proxy -> /etc/apt/apt.conf.d/90curtin-aptproxy
//   conf (apt.conf text)                         -> /etc/apt/apt.conf.d/94curtin-config
//   sources_list (template)                      -> /etc/apt/sources.list
//   sources: {NAME: {source, key?}}              -> /etc/apt/sources.list.d/NAME(.list)
//   preferences: [{package, pin, pin-priority}]  -> /etc/apt/preferences.d/90-curtin.pref
// Templates get $RELEASE (the target's codename), $MIRROR/$PRIMARY (apt.primary's first
// uri, else Debian's) and $SECURITY, as curtin substitutes them.
import { ValidationError } from '../util/errors.js';
import type { HookModule } from './types.js';
import { mapping, readTargetFile, writeTargetFile } from './target-files.js';

export interface AptFile {
  path: string;
  content: string;
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || !v) throw new ValidationError(where, 'must be a non-empty string');
  return v;
}

function firstUri(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ValidationError(where, 'must be a list of {arches, uri}');
  const first = mapping(v[0]);
  return first?.uri === undefined ? undefined : str(first.uri, `${where}[0]/uri`);
}

/** Pure: the files `apt:` asks for. `release` is the target's codename. */
export function planApt(apt: unknown, release: string): AptFile[] {
  if (apt === undefined || apt === null) return [];
  const a = mapping(apt);
  if (!a) throw new ValidationError('apt', 'must be a mapping');
  const files: AptFile[] = [];
  const mirror = firstUri(a.primary, 'apt/primary') ?? DEFAULT_MIRROR;
  const security = firstUri(a.security, 'apt/security') ?? DEFAULT_SECURITY;
  const subst = (t: string): string =>
    t
      .replace(/\$RELEASE\b/g, release)
      .replace(/\$(MIRROR|PRIMARY)\b/g, mirror)
      .replace(/\$SECURITY\b/g, security);

  const proxies: string[] = [];
  const http = a.http_proxy ?? a.proxy;
  if (http !== undefined) proxies.push(`Acquire::http::Proxy "${str(http, 'apt/http_proxy')}";`);
  if (a.https_proxy !== undefined)
    proxies.push(`Acquire::https::Proxy "${str(a.https_proxy, 'apt/https_proxy')}";`);
  if (a.ftp_proxy !== undefined)
    proxies.push(`Acquire::ftp::Proxy "${str(a.ftp_proxy, 'apt/ftp_proxy')}";`);
  if (proxies.length)
    files.push({
      path: '/etc/apt/apt.conf.d/90curtin-aptproxy',
      content: proxies.join('\n') + '\n',
    });

  if (a.conf !== undefined)
    files.push({ path: '/etc/apt/apt.conf.d/94curtin-config', content: str(a.conf, 'apt/conf') });

  if (a.sources_list !== undefined)
    files.push({
      path: '/etc/apt/sources.list',
      content: subst(str(a.sources_list, 'apt/sources_list')),
    });

  if (a.sources !== undefined) {
    const sources = mapping(a.sources);
    if (!sources) throw new ValidationError('apt/sources', 'must be a mapping of NAME: {source}');
    for (const [name, value] of Object.entries(sources)) {
      const where = `apt/sources/${name}`;
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.'))
        throw new ValidationError(where, 'name must be a plain file name');
      const s = mapping(value);
      if (!s) throw new ValidationError(where, 'must be a mapping with source:');
      const file = name.endsWith('.list') || name.endsWith('.sources') ? name : `${name}.list`;
      if (s.source !== undefined)
        files.push({
          path: `/etc/apt/sources.list.d/${file}`,
          content: subst(str(s.source, `${where}/source`)).trimEnd() + '\n',
        });
      if (s.key !== undefined)
        files.push({
          path: `/etc/apt/trusted.gpg.d/${file.replace(/\.(list|sources)$/, '')}.asc`,
          content: str(s.key, `${where}/key`),
        });
    }
  }

  if (a.preferences !== undefined) {
    if (!Array.isArray(a.preferences))
      throw new ValidationError(
        'apt/preferences',
        'must be a list of {package, pin, pin-priority}',
      );
    const stanzas = a.preferences.map((p: unknown, i: number) => {
      const where = `apt/preferences[${i}]`;
      const m = mapping(p);
      if (!m) throw new ValidationError(where, 'must be a mapping');
      const prio = m['pin-priority'];
      if (typeof prio !== 'number' || !Number.isInteger(prio))
        throw new ValidationError(`${where}/pin-priority`, 'must be an integer');
      return `Package: ${str(m.package, `${where}/package`)}\nPin: ${str(m.pin, `${where}/pin`)}\nPin-Priority: ${prio}\n`;
    });
    if (stanzas.length)
      files.push({ path: '/etc/apt/preferences.d/90-curtin.pref', content: stanzas.join('\n') });
  }
  return files;
}

export async function targetCodename(target: string): Promise<string> {
  const osr = (await readTargetFile(target, '/etc/os-release')) ?? '';
  return /^VERSION_CODENAME=("?)([^"\n]*)\1$/m.exec(osr)?.[2] || 'stable';
}

export const aptHook: HookModule = {
  name: 'apt',
  description: 'configuring apt (proxy, sources, preferences)',
  keys: ['apt'],
  validate: (config) => void planApt(config.apt, 'stable'),
  async run(ctx) {
    const files = planApt(ctx.config.apt, await targetCodename(ctx.target));
    if (!files.length) ctx.log('apt: no apt: config; apt left as the image has it');
    for (const f of files)
      await writeTargetFile(ctx.runner, ctx.target, f.path, f.content, {
        description: 'apt config',
      });
  },
};
