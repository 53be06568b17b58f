// Helpers for the curthooks network module: read what the network stage wrote, and
// write rendered files into the target through the Runner (so dry-run records them).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { Runner } from '../runner/runner.js';
import { PxmError, ValidationError, errorMessage } from '../util/errors.js';
import { parseNetworkConfig, type NetworkDoc } from './config.js';
import type { RenderedFile } from './rendered.js';
import { resolveInTarget } from './target.js';

/**
 * Reads OUTPUT_NETWORK_CONFIG as the network stage (or curtin's net-meta) wrote it.
 * Undefined when the file does not exist: the stage was disabled or skipped, and the
 * target's network is left as the image has it.
 */
export async function loadNetworkConfigFile(file: string): Promise<NetworkDoc | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PxmError(`${file}: cannot read network config: ${errorMessage(error)}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new ValidationError(file, `not valid YAML: ${errorMessage(error)}`);
  }
  if (data === null || data === undefined) return undefined;
  return parseNetworkConfig(data, file);
}

/**
 * Writes rendered files into the target root, one Runner write step each. Paths are
 * resolved inside the target (its symlinks cannot send a write onto the host) and the
 * mode is set even when the file already existed (netplan wants 0600).
 */
export async function writeRenderedFiles(
  runner: Runner,
  targetRoot: string,
  files: readonly RenderedFile[],
): Promise<void> {
  for (const f of files) {
    await runner.action(
      { kind: 'write', path: path.join(targetRoot, f.path), description: 'network config' },
      async () => {
        const resolved = await resolveInTarget(targetRoot, f.path);
        if (!resolved) throw new PxmError(`${f.path}: symlink loop in the target`);
        const real = path.join(targetRoot, resolved.path);
        await mkdir(path.dirname(real), { recursive: true });
        await writeFile(real, f.content, { mode: f.mode });
        await chmod(real, f.mode);
      },
    );
  }
}
