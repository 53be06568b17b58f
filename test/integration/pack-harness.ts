// Shared by the pack integration tests: run a packed installer the way a bare target
// would (env -i, an empty working directory, a chosen shell) and build PATHs that
// really lack node (or xz).
import { execa } from 'execa';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** The PATH the issue asks for: system directories only, no node_modules anywhere. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** The shells the installer must run under: /bin/sh (dash on Debian), dash, busybox ash. */
export const SHELLS: readonly (readonly string[])[] = [['sh'], ['dash'], ['busybox', 'sh']];

export interface RunOpts {
  shell?: readonly string[];
  cwd: string;
  path?: string;
  env?: Record<string, string>;
}

/** `env -i PATH=... [VAR=...] SHELL FILE ARGS...` from `cwd`. */
export async function runInstaller(file: string, args: readonly string[], opts: RunOpts) {
  const shell = opts.shell ?? ['sh'];
  const vars = Object.entries({ PATH: opts.path ?? SYSTEM_PATH, ...opts.env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  const shellPath = shell[0] === 'busybox' ? '/usr/bin/busybox' : `/usr/bin/${shell[0]}`;
  return execa('/usr/bin/env', ['-i', ...vars, shellPath, ...shell.slice(1), file, ...args], {
    cwd: opts.cwd,
    reject: false,
    extendEnv: false,
    env: {},
    timeout: 300_000,
  });
}

/**
 * A directory of symlinks to everything in /usr/bin except the excluded names: a PATH
 * with coreutils, tar, gzip... but no node. (Debian 12 has merged /usr: /bin is /usr/bin.)
 */
export function toolFarm(dir: string, exclude: RegExp): string {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync('/usr/bin')) {
    if (exclude.test(name)) continue;
    symlinkSync(path.join('/usr/bin', name), path.join(dir, name));
  }
  return dir;
}

/** `command -v NAME` under PATH=`p`: the test's own proof that a tool is absent. */
export async function commandV(name: string, p: string): Promise<string> {
  const r = await execa(
    '/usr/bin/env',
    ['-i', `PATH=${p}`, '/usr/bin/dash', '-c', `command -v ${name}`],
    {
      reject: false,
      extendEnv: false,
      env: {},
    },
  );
  return r.exitCode === 0 ? r.stdout.trim() : '';
}
