// Parsers for rendered network files, so tests assert on meaning (which interface gets
// which address) rather than on byte-for-byte snapshots.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/pxm.js';
import type { RenderedFile } from '../../src/net/rendered.js';

export const SHARED_EXAMPLES = path.resolve(repoRoot, '../shared/fixtures/curtin-examples');
export const OWN_FIXTURES = path.join(repoRoot, 'test/fixtures/net');

export function loadYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

export interface IniSection {
  name: string;
  entries: [string, string][];
}

/** systemd unit-file syntax: `[Section]` then `Key=Value` lines; comments skipped. */
export function parseIni(text: string): IniSection[] {
  const out: IniSection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      out.push({ name: sec[1]!, entries: [] });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || out.length === 0) throw new Error(`bad unit line: ${line}`);
    out[out.length - 1]!.entries.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

/** Every value of `key` in sections named `section`. */
export function iniValues(text: string, section: string, key: string): string[] {
  return parseIni(text)
    .filter((s) => s.name === section)
    .flatMap((s) => s.entries.filter(([k]) => k === key).map(([, v]) => v));
}

export interface EniStanza {
  name: string;
  family: string;
  method: string;
  options: Record<string, string[]>;
}

export interface Eni {
  auto: string[];
  hotplug: string[];
  sources: string[];
  stanzas: EniStanza[];
}

/** ifupdown's interfaces(5) syntax. */
export function parseEni(text: string): Eni {
  const eni: Eni = { auto: [], hotplug: [], sources: [], stanzas: [] };
  let cur: EniStanza | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'auto') {
      eni.auto.push(...rest);
      cur = undefined;
    } else if (word === 'allow-hotplug') {
      eni.hotplug.push(...rest);
      cur = undefined;
    } else if (word === 'source') {
      eni.sources.push(rest.join(' '));
      cur = undefined;
    } else if (word === 'iface') {
      const [name, family, method] = rest;
      cur = { name: name!, family: family!, method: method!, options: {} };
      eni.stanzas.push(cur);
    } else {
      // ifupdown ignores indentation: an option belongs to the stanza above it.
      if (!cur) throw new Error(`option outside a stanza: ${line}`);
      (cur.options[word!] ??= []).push(rest.join(' '));
    }
  }
  return eni;
}

/** All stanzas of one interface. */
export function stanzasOf(eni: Eni, name: string): EniStanza[] {
  return eni.stanzas.filter((s) => s.name === name);
}

export function fileAt(files: RenderedFile[], p: string): RenderedFile {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`no rendered file ${p}; have ${files.map((x) => x.path).join(', ')}`);
  return f;
}
