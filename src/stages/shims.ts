// `curtin` and `pxm` on PATH for stage commands: MAAS configs call `curtin in-target --`
// and `curtin block-meta custom`, in argv lists and inside shell strings. Both shims run
// this same pxm (the bundle, under the same node), `curtin` through the `pxm curtin`
// compatibility command.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { shellQuote } from '../runner/runner.js';

/**
 * argv that starts this pxm again: node, its flags (tsx in development), the entry file.
 * A Node single executable application (pack may build one) is its own entry.
 */
export function selfCommand(): string[] {
  if (isSingleExecutable()) return [process.execPath];
  return [process.execPath, ...process.execArgv, process.argv[1] ?? ''];
}

function isSingleExecutable(): boolean {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as { isSea?: () => boolean };
    return sea.isSea?.() ?? false;
  } catch {
    return false;
  }
}

export async function writeShims(binDir: string, self: readonly string[]): Promise<void> {
  await mkdir(binDir, { recursive: true });
  const run = self.map(shellQuote).join(' ');
  await writeFile(path.join(binDir, 'pxm'), `#!/bin/sh\nexec ${run} "$@"\n`, { mode: 0o755 });
  await writeFile(path.join(binDir, 'curtin'), `#!/bin/sh\nexec ${run} curtin "$@"\n`, {
    mode: 0o755,
  });
}
