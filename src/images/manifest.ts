// manifest.json: what an image is, so an operator (or `pxm server`) can check it and a
// cache hit can be trusted. Written last: an image directory without it is incomplete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BuildInputs } from './inputs.js';

export const ARTEFACTS = ['vmlinuz', 'initrd.img', 'root.squashfs'] as const;
export type ArtefactName = (typeof ARTEFACTS)[number];

export interface ArtefactInfo {
  sha256: string;
  size: number;
}

export interface ImageManifest {
  format: 'pxm-ephemeral/1';
  key: string;
  builtAt: string;
  buildSeconds: number;
  suite: string;
  mirror: string;
  compression: BuildInputs['compression'];
  /** The packages asked for. */
  packages: string[];
  /** Every installed package with its version (dpkg). */
  installed: Record<string, string>;
  versions: { kernel: string; node: string; pxm: string; builderRevision: number };
  /** Kernel parameters that boot it from HTTP; FETCH_URL is the squashfs URL. */
  kernelParameters: string;
  files: Record<ArtefactName, ArtefactInfo>;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function describeArtefacts(dir: string): Promise<Record<ArtefactName, ArtefactInfo>> {
  const out = {} as Record<ArtefactName, ArtefactInfo>;
  for (const name of ARTEFACTS) {
    const file = path.join(dir, name);
    out[name] = { sha256: await sha256File(file), size: (await stat(file)).size };
  }
  return out;
}

/** The manifest of a complete image dir, or undefined when absent or unreadable. */
export async function readManifest(dir: string): Promise<ImageManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    return m.format === 'pxm-ephemeral/1' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Parses `dpkg-query -W -f '${Package} ${Version}\n'` output. */
export function parseDpkgList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [name, version] = line.trim().split(/\s+/);
    if (name && version) out[name] = version;
  }
  return out;
}
