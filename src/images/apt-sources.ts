// Finds the Debian mirror the build machine's apt uses, so `pxm images build-ephemeral`
// works offline from the internet by default: whatever mirror apt reaches, we reach.
//
// Both formats are read: one-line `.list` entries and deb822 `.sources` stanzas. The
// security archive and disabled stanzas are skipped (debootstrap needs the main archive).
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface AptSource {
  uri: string;
  suites: string[];
  file: string;
}

/** `deb [opts] URI SUITE COMPONENT...` lines; `deb-src` and comments ignored. */
export function parseListFile(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) out.push({ uri: m[1], suites: [m[2]], file });
  }
  return out;
}

/** deb822 stanzas separated by blank lines; `Enabled: no` and non-`deb` types skipped. */
export function parseSourcesFile(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m?.[1]) continue;
      last = m[1].toLowerCase();
      fields.set(last, (m[2] ?? '').trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb')) continue;
    if (/^(no|false|0)$/i.test(fields.get('enabled') ?? 'yes')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      out.push({ uri, suites, file });
    }
  }
  return out;
}

/**
 * The first source that is a main archive (not `-security`, not a `-updates`-only entry).
 * Returns undefined when apt has no usable source.
 */
export function pickMirror(sources: readonly AptSource[]): string | undefined {
  const main = sources.find(
    (s) =>
      /^https?:\/\//.test(s.uri) &&
      !/security/.test(s.uri) &&
      s.suites.some((suite) => !/-(security|updates|backports)$|\//.test(suite)),
  );
  return main?.uri.replace(/\/+$/, '');
}

/** Reads /etc/apt/sources.list and sources.list.d/*.list|*.sources (under `root`). */
export async function readAptSources(root = '/'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const main = path.join(root, 'etc/apt/sources.list');
  const text = await readFile(main, 'utf8').catch(() => undefined);
  if (text !== undefined) out.push(...parseListFile(text, main));
  const dir = path.join(root, 'etc/apt/sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    if (name.endsWith('.list')) out.push(...parseListFile(await readFile(file, 'utf8'), file));
    else if (name.endsWith('.sources'))
      out.push(...parseSourcesFile(await readFile(file, 'utf8'), file));
  }
  return out;
}

export async function defaultMirror(root = '/'): Promise<string | undefined> {
  return pickMirror(await readAptSources(root));
}
