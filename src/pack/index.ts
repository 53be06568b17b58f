// Programmatic API of `pxm pack`: builds a self-extracting POSIX sh installer.
//
//   buildInstaller(opts) -> Buffer      in memory (the server packs one per node)
//   writeInstaller(file, opts)          writes it with mode 0755, returns a summary
//
// Layout and integrity rules: src/pack/extractor.sh.ts. Design notes: docs/pack.md.
import { readFile, rename, writeFile, chmod, rm } from 'node:fs/promises';
import pjson from '../../package.json' with { type: 'json' };
import { Runner } from '../runner/runner.js';
import { runningBundlePath } from './bundle.js';
import {
  addEntries,
  configEntries,
  finishEntries,
  payloadArchive,
  type AddSpec,
  type ConfigSpec,
} from './payload.js';
import { prepareRuntime, type PreparedRuntime, type RuntimeCompression } from './runtime.js';
import { renderInstaller, sha256hex, shQuote } from './script.js';
import type { TarEntry } from './ustar.js';

export type { AddSpec, ConfigSpec } from './payload.js';
export { parseAddFlag } from './payload.js';

export interface PackOptions {
  /** Configs for the default command, in order (`--config` each). Paths or content. */
  configs?: readonly ConfigSpec[];
  /** Extra files unpacked beside the bundle ($PXM_DIR/DEST). */
  add?: readonly AddSpec[];
  /**
   * The command to run (argv words, not a shell string). Default:
   * `pxm install --config $PXM_DIR/configs/NN-name ...`. The installer's own remaining
   * arguments are appended. $PXM_DIR is exported to it; use `sh -c` to refer to it.
   */
  command?: readonly string[];
  /** Embed a Node runtime: true = the running node (process.execPath), or a path. */
  withNode?: boolean | string;
  nodeCompression?: RuntimeCompression | 'auto';
  /** Strip the runtime with `strip` when available. Default true. */
  strip?: boolean;
  /** Record a creation time (true = now). Default: none, output is reproducible. */
  timestamp?: boolean | Date;
  /** The pxm bundle to pack: path or content. Default: the running bundle. */
  bundle?: string | Buffer;
  /** Runtime cache directory; false disables it. Default $PXM_CACHE_DIR or /var/cache/pxm. */
  cacheDir?: string | false;
  /** Runs strip/xz (and records them). Default: a new real Runner. */
  runner?: Runner;
}

export interface PackSummary {
  bytes: number;
  payloadBytes: number;
  payloadSha256: string;
  runtime?: {
    version: string;
    compression: RuntimeCompression;
    stripped: boolean;
    cached: boolean;
    bytes: number;
  };
  entries: { path: string; kind: TarEntry['kind']; bytes: number }[];
  /** The `info` text the installer prints (then its payload size and sha256). */
  info: string;
}

/** Minimum target Node, from package.json engines (">=20.19"). */
export function minimumNode(): { major: number; minor: number } {
  const m = /(\d+)\.(\d+)/.exec(pjson.engines.node);
  return { major: Number(m?.[1] ?? 20), minor: Number(m?.[2] ?? 19) };
}

function modeString(e: TarEntry): string {
  if (e.kind === 'symlink') return 'lrwxrwxrwx';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => ((e.mode >> (8 - i)) & 1 ? c : '-'))
    .join('');
  return (e.kind === 'dir' ? 'd' : '-') + bits;
}

function infoText(o: {
  created: string;
  runtime: PreparedRuntime | undefined;
  commandDisplay: string;
  entries: readonly TarEntry[];
}): string {
  const min = minimumNode();
  const runtime = o.runtime
    ? `node ${o.runtime.version}${o.runtime.stripped ? ', stripped' : ''}, ${o.runtime.compression}-compressed` +
      (o.runtime.compression === 'xz'
        ? ' (the target needs xz or unxz)'
        : ' (the target needs gzip)')
    : `none: uses node >= ${min.major}.${min.minor} from the target's PATH`;
  const rows = o.entries.map((e) => {
    const size = e.kind === 'file' ? e.data.length : 0;
    const name =
      e.kind === 'dir' ? `${e.path}/` : e.kind === 'symlink' ? `${e.path} -> ${e.target}` : e.path;
    return `  ${modeString(e)} ${String(size).padStart(10)}  ${name}`;
  });
  return [
    'pxm self-extracting installer',
    `pxm version: ${pjson.version}`,
    `created:     ${o.created}`,
    `format:      tar.gz (gzip -9${o.runtime ? ', runtime in a stored member' : ''}) after a POSIX sh extractor`,
    `runtime:     ${runtime}`,
    `command:     ${o.commandDisplay} [ARGS...]`,
    'needs:       sh, sha256sum, tail, head, wc, tr, sed, mktemp, gzip, tar' +
      (o.runtime?.compression === 'xz' ? ', xz or unxz' : ''),
    'contents:',
    ...rows,
  ].join('\n');
}

async function loadBundle(bundle: string | Buffer | undefined): Promise<Buffer> {
  if (Buffer.isBuffer(bundle)) return bundle;
  return readFile(bundle ?? runningBundlePath());
}

/** Builds the installer and describes it. Validates every input before running anything. */
export async function packInstaller(
  opts: PackOptions = {},
): Promise<{ installer: Buffer; summary: PackSummary }> {
  const configs = await configEntries(opts.configs ?? []);
  const added = await addEntries(opts.add ?? []);
  const bundle = await loadBundle(opts.bundle);
  const runtime = opts.withNode
    ? await prepareRuntime({
        path: typeof opts.withNode === 'string' ? opts.withNode : undefined,
        compression: opts.nodeCompression,
        strip: opts.strip,
        cacheDir: opts.cacheDir,
        runner: opts.runner,
      })
    : undefined;

  let run: string;
  let commandDisplay: string;
  if (opts.command && opts.command.length > 0) {
    run = opts.command.map(shQuote).join(' ');
    commandDisplay = run.replace(/\n/g, '\\n');
  } else {
    const configPaths = configs.map((c) => c.path);
    run = ['pxm install', ...configPaths.map((p) => `--config "$PXM_DIR/${p}"`)].join(' ');
    commandDisplay = ['pxm install', ...configPaths.map((p) => `--config $PXM_DIR/${p}`)].join(' ');
  }
  const ts =
    opts.timestamp === true
      ? new Date()
      : opts.timestamp instanceof Date
        ? opts.timestamp
        : undefined;

  const content = finishEntries([
    { kind: 'file', path: 'pxm.cjs', mode: 0o644, data: bundle },
    ...configs,
    ...added,
    ...(runtime
      ? [
          {
            kind: 'file' as const,
            path: `runtime/node.${runtime.compression === 'xz' ? 'xz' : 'gz'}`,
            mode: 0o644,
            data: runtime.data,
          },
        ]
      : []),
  ]);
  // The command and the info text travel in the payload, never as text in the sh head
  // (see extractor.sh.ts: text in the head could run if a damaged byte made it code).
  const info = infoText({
    created: ts ? ts.toISOString() : 'reproducible build (no timestamp)',
    runtime,
    commandDisplay,
    entries: content,
  });
  const runScript = `#!/bin/sh\n# The command this installer runs (pxm pack); the installer's arguments follow.\nexec ${run} "$@"\n`;
  const entries = finishEntries([
    { kind: 'file', path: '.pxm/info', mode: 0o644, data: Buffer.from(`${info}\n`) },
    { kind: 'file', path: '.pxm/run', mode: 0o755, data: Buffer.from(runScript) },
    ...content,
  ]);
  const payload = payloadArchive(entries, (e) => e.path.startsWith('runtime/'));
  const installer = renderInstaller(
    { runtime: runtime ? runtime.compression : 'none', nodeMin: minimumNode() },
    payload,
  );
  return {
    installer,
    summary: {
      bytes: installer.length,
      payloadBytes: payload.length,
      payloadSha256: sha256hex(payload),
      runtime: runtime && {
        version: runtime.version,
        compression: runtime.compression,
        stripped: runtime.stripped,
        cached: runtime.cached,
        bytes: runtime.data.length,
      },
      entries: entries.map((e) => ({
        path: e.path,
        kind: e.kind,
        bytes: e.kind === 'file' ? e.data.length : 0,
      })),
      info,
    },
  };
}

/** The installer as one Buffer, e.g. for the server to serve as a node's user-data. */
export async function buildInstaller(opts: PackOptions = {}): Promise<Buffer> {
  return (await packInstaller(opts)).installer;
}

/** Writes the installer to `file` (mode 0755), atomically: written beside it, then renamed. */
export async function writeInstaller(file: string, opts: PackOptions = {}): Promise<PackSummary> {
  const { installer, summary } = await packInstaller(opts);
  const runner = opts.runner ?? new Runner();
  await runner.action(
    { kind: 'write', path: file, description: 'write the self-extracting installer' },
    async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, installer, { mode: 0o755 });
        await chmod(tmp, 0o755); // the umask may have masked bits off
        await rename(tmp, file);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
  );
  return summary;
}
