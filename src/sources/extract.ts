// The extract builtin: every source in order into the target directory.
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import { PxmError, ValidationError } from '../util/errors.js';
import { parseSources, sourceAction, displayUri, type SourceSpec } from './spec.js';
import { openSource, type ProxyConfig } from './fetch.js';
import { detectCompression, looksLikeTar, peek, SNIFF_BYTES, type Compression } from './sniff.js';
import { tarExtract } from './tar.js';

export interface ExtractSourcesOptions {
  runner: Runner;
  /** The extract stage's stack; each source becomes a child event. */
  stack: EventStack;
  /** The `sources:` config value (mapping, list or string) or already-parsed specs. */
  sources: unknown;
  /** Directory to install into (created if missing). */
  target: string;
  /** curtin's `proxy:` mapping, used for http(s) sources. */
  proxy?: ProxyConfig;
  signal?: AbortSignal;
}

/**
 * Extracts every source into `target`, in curtin's order (mapping keys sorted).
 *
 * - Validates all sources first (`ValidationError`, exit 2, nothing touched) and rejects
 *   dd-* and fsimage sources, which need a target disk.
 * - Tar sources (file, file://, http(s)://) stream into GNU tar; compression is sniffed
 *   from the content; `sha256` is verified while streaming and a mismatch rejects with
 *   `ChecksumMismatchError` ("expected X, got Y") before tar sees the last bytes.
 * - cp:// sources copy the tree with `cp -ax` (xattrs, ACLs, links, owners).
 * - Every change is a Runner step: a dry-run records
 *   `extract URI → TARGET (tar, zstd)` / `cp -ax ...` and touches nothing.
 * - Byte progress goes to each source's child stack (`progress(done, total)`).
 * Rejects (with the source key in the message) on the first failing source.
 */
export async function extractSources(opts: ExtractSourcesOptions): Promise<void> {
  const specs = isSpecList(opts.sources) ? opts.sources : parseSources(opts.sources);
  if (specs.length === 0) throw new ValidationError('sources', 'no sources to install');
  checkTargetInstallable(specs);
  const target = path.resolve(opts.target);
  for (const spec of specs) {
    const child = opts.stack.child(
      `source-${spec.key}`,
      `acquiring and extracting image from ${displayUri(spec)}`,
    );
    await child.run((s) => extractOne({ ...opts, target, stack: s }, spec));
  }
}

/** dd-* and fsimage sources write or mount a disk image: not possible into a directory. */
export function checkTargetInstallable(specs: readonly SourceSpec[]): void {
  for (const spec of specs) {
    const act = sourceAction(spec.type);
    if (act === 'dd') {
      throw new ValidationError(
        `sources/${spec.key}`,
        `${spec.type} sources are written to a disk and are not supported for --target installs`,
        {
          hint: 'use a tar source (tgz:, txz:, plain path or URL) or a storage config with a disk',
        },
      );
    }
    if (act === 'fsimage') {
      throw new ValidationError(
        `sources/${spec.key}`,
        `${spec.type} (squashfs) sources are not supported for --target installs yet`,
        { hint: 'use a tar source or cp://DIR of an unpacked tree' },
      );
    }
  }
}

async function extractOne(
  opts: ExtractSourcesOptions & { target: string },
  spec: SourceSpec,
): Promise<void> {
  const { runner, target, stack } = opts;
  const what = `sources/${spec.key} (${displayUri(spec)})`;
  if (spec.location.kind === 'dir') {
    // `SRC/.` copies the directory's contents, and creates TARGET when missing.
    await runner.run({
      argv: ['cp', '-ax', '--sparse=always', `${spec.location.path}/.`, `${target}/`],
      description: `copy ${displayUri(spec)} → ${target}`,
    });
    return;
  }
  if (runner.dryRun) {
    // Planning may read a local file's first bytes (a probe); it never contacts a server.
    const comp = spec.location.kind === 'file' ? await sniffFile(spec.location.path) : undefined;
    await runner.action(
      { kind: 'action', description: stepText(spec, target, comp) },
      async () => undefined,
    );
    return;
  }
  const src = await openSource(spec, { proxy: opts.proxy, signal: opts.signal });
  try {
    const head = await peek(src.stream, SNIFF_BYTES);
    const compression = detectCompression(head);
    if (compression === 'none' && !looksLikeTar(head)) {
      throw new PxmError(
        `${what}: not a tar archive (no gzip, bzip2, xz or zstd magic and no ustar header)`,
      );
    }
    await runner.action({ kind: 'action', description: stepText(spec, target, compression) }, () =>
      tarExtract({
        input: src.stream,
        compression,
        target,
        what,
        expectedSha256: spec.sha256,
        total: src.total,
        onProgress: (done, total) => stack.progress(done, total),
      }),
    );
  } finally {
    src.stream.destroy();
    await src.close();
  }
}

function stepText(spec: SourceSpec, target: string, comp: Compression | undefined): string {
  const how =
    comp === undefined ? 'compression detected from content' : comp === 'none' ? 'plain' : comp;
  const sum = spec.sha256 ? `, sha256 ${spec.sha256.slice(0, 12)}…` : '';
  return `extract ${displayUri(spec)} → ${target} (tar, ${how}${sum})`;
}

async function sniffFile(file: string): Promise<Compression | undefined> {
  try {
    const h = await open(file, 'r');
    try {
      const buf = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await h.read(buf, 0, SNIFF_BYTES, 0);
      return detectCompression(buf.subarray(0, bytesRead));
    } finally {
      await h.close();
    }
  } catch {
    return undefined;
  }
}

function isSpecList(v: unknown): v is SourceSpec[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (x) => x !== null && typeof x === 'object' && 'location' in x && 'type' in x && 'key' in x,
    )
  );
}
