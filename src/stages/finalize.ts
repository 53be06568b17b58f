// End of an install. Success: the merged config and the install log are saved into the
// target (mode 0400, curtin's paths by default). Failure: an error tarball with the
// config (secrets redacted), the log, the environment and the working state.
import { chmod, copyFile, mkdir, readFile, readdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { create as createTar } from 'tar';
import { stringify } from 'yaml';
import type { ConfigMap } from '../config/merge.js';
import type { ReportFile } from '../report/events.js';
import type { Runner } from '../runner/runner.js';
import type { WorkingPaths } from './context.js';
import { resolveInTarget } from '../sources/index.js';

export function installSettings(config: ConfigMap): {
  logFile: string | undefined;
  logFileAppend: boolean;
  errorTarfile: string | undefined;
  saveConfig: string | undefined;
  saveLog: string | undefined;
  postFiles: string[] | undefined;
} {
  const inst = (config.install ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  return {
    logFile: str(inst.log_file),
    logFileAppend: inst.log_file_append === true,
    errorTarfile: str(inst.error_tarfile),
    saveConfig: str(inst.save_install_config),
    saveLog: str(inst.save_install_log),
    postFiles: Array.isArray(inst.post_files) ? inst.post_files.map(String) : undefined,
  };
}

/**
 * A path inside the target; absolute config paths are taken relative to it, and
 * symlinks in the (untrusted) image are followed as in a chroot, never out of it.
 */
export function inTargetPath(target: string, p: string): Promise<string> {
  return resolveInTarget(target, p);
}

export async function saveIntoTarget(
  runner: Runner,
  target: string,
  config: ConfigMap,
  logFile: string | undefined,
): Promise<void> {
  const s = installSettings(config);
  if (s.saveConfig) {
    const dest = await inTargetPath(target, s.saveConfig);
    await runner.action(
      { kind: 'write', path: dest, description: 'merged config (0400)' },
      async () => {
        await mkdir(path.dirname(dest), { recursive: true });
        await rm(dest, { force: true }); // an old 0400 copy from an earlier install
        await writeFile(dest, stringify(config), { mode: 0o400 });
        await chmod(dest, 0o400);
      },
    );
  }
  if (s.saveLog && logFile) {
    const dest = await inTargetPath(target, s.saveLog);
    await runner.action(
      { kind: 'write', path: dest, description: 'install log (0400)' },
      async () => {
        await mkdir(path.dirname(dest), { recursive: true });
        await rm(dest, { force: true });
        await copyFile(logFile, dest);
        await chmod(dest, 0o400);
      },
    );
  }
}

/** The final event's files: install.post_files, default the install log (base64). */
export async function postFiles(
  config: ConfigMap,
  logFile: string | undefined,
): Promise<ReportFile[]> {
  const list = installSettings(config).postFiles ?? (logFile ? [logFile] : []);
  const out: ReportFile[] = [];
  for (const p of list) {
    try {
      out.push({ path: p, content: (await readFile(p)).toString('base64'), encoding: 'base64' });
    } catch {
      // A post file that does not exist (yet) is skipped, as curtin does.
    }
  }
  return out;
}

const SECRET_KEY = /secret|password|passwd|token/i;

/** A deep copy with secret-looking values replaced, for files that leave the machine. */
export function redactSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        k,
        SECRET_KEY.test(k) && typeof x === 'string' ? '<redacted>' : redactSecrets(x),
      ]),
    );
  }
  return v;
}

export interface ErrorTarballInput {
  tarfile: string;
  config: ConfigMap;
  logFile: string | undefined;
  env: Readonly<Record<string, string>>;
  paths: WorkingPaths;
  cause: string;
}

/** Writes the error tarball: pxm-error-logs/{cause.txt,config.yaml,install.log,env.txt,state/}. */
export async function writeErrorTarball(input: ErrorTarballInput): Promise<string> {
  const stage = path.join(input.paths.top, 'error-logs');
  const dir = path.join(stage, 'pxm-error-logs');
  await rm(stage, { recursive: true, force: true });
  await mkdir(path.join(dir, 'state'), { recursive: true });
  await writeFile(path.join(dir, 'cause.txt'), `${input.cause}\n`);
  await writeFile(path.join(dir, 'config.yaml'), stringify(redactSecrets(input.config)));
  const envLines = Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  envLines.push(`node=${process.version}`, `argv=${process.argv.slice(2).join(' ')}`);
  await writeFile(path.join(dir, 'env.txt'), `${envLines.join('\n')}\n`);
  if (input.logFile)
    await copyFile(input.logFile, path.join(dir, 'install.log')).catch(() => undefined);
  const state = path.dirname(input.paths.configFile);
  for (const f of await readdir(state).catch(() => [] as string[])) {
    // CONFIG holds the unredacted config: config.yaml above replaces it.
    if (path.join(state, f) === input.paths.configFile) continue;
    await copyFile(path.join(state, f), path.join(dir, 'state', f)).catch(() => undefined);
  }
  await mkdir(path.dirname(input.tarfile), { recursive: true });
  await createTar({ file: input.tarfile, cwd: stage, portable: true }, ['pxm-error-logs']);
  return input.tarfile;
}
