// `curtin SUBCOMMAND ...` as stage commands call it (through the shim on PATH, often
// inside shell strings): pxm's own implementation, reading the install's environment
// contract (CONFIG, TARGET_MOUNT_POINT, WORKING_DIR, OUTPUT_*) like curtin's subcommands.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Reporter } from '../report/events.js';
import { Runner, type OutputSink } from '../runner/runner.js';
import { inTarget } from '../target/in-target.js';
import { PxmError, ValidationError, errorMessage } from '../util/errors.js';
import type { ConfigMap } from '../config/merge.js';
import { runBuiltin } from './builtins.js';
import type { StageContext, WorkingPaths } from './context.js';
import { installModules, type InstallModules } from './modules.js';
import { BUILTIN_SUBCOMMANDS, type BuiltinName } from './plan.js';

/** curtin subcommands MAAS configs use that pxm does not implement yet: named clearly. */
export const NOT_YET = [
  'apt-config',
  'system-install',
  'system-upgrade',
  'install',
  'pack',
  'swap',
  'unmount',
  'collect-logs',
  'features',
];

export interface CompatIO {
  env: Readonly<Record<string, string | undefined>>;
  output: OutputSink;
  modules?: InstallModules;
}

/** Runs `curtin <argv>`; returns the exit status. */
export async function runCurtinCompat(argv: readonly string[], io: CompatIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub) throw new ValidationError('curtin', 'no subcommand given');
  if (sub === 'in-target') return curtinInTarget(rest, io);
  if ((BUILTIN_SUBCOMMANDS as readonly string[]).includes(sub)) {
    const ctx = await contextFromEnv(rest, io);
    await runBuiltin(sub as BuiltinName, rest, ctx, io.modules ?? installModules);
    return 0;
  }
  if (NOT_YET.includes(sub)) throw new PxmError(`curtin ${sub}: not supported by pxm yet`);
  throw new PxmError(`curtin ${sub}: unknown curtin subcommand (not supported by pxm)`);
}

interface InTargetArgs {
  target: string | undefined;
  allowDaemons: boolean;
  command: string[];
}

/** curtin in-target [-a|--allow-daemons] [-t|--target DIR] [--] CMD... */
export function parseInTargetArgs(args: readonly string[], env: CompatIO['env']): InTargetArgs {
  let target = env.TARGET_MOUNT_POINT || undefined;
  let allowDaemons = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-a' || a === '--allow-daemons') allowDaemons = true;
    else if (a === '-t' || a === '--target') target = args[++i];
    else if (a.startsWith('--target=')) target = a.slice(9);
    else if (a === '--capture')
      continue; // output is always streamed and logged
    else break;
  }
  return { target, allowDaemons, command: args.slice(i) };
}

async function curtinInTarget(args: readonly string[], io: CompatIO): Promise<number> {
  const parsed = parseInTargetArgs(args, io.env);
  if (!parsed.target) {
    throw new ValidationError(
      'curtin in-target',
      'no target: give --target DIR or run inside an install (TARGET_MOUNT_POINT)',
    );
  }
  const runner = new Runner({ output: io.output });
  const r = await inTarget({
    target: parsed.target,
    argv: parsed.command,
    runner,
    allowDaemons: parsed.allowDaemons,
    allowFailure: true,
  });
  return r.exitCode;
}

async function contextFromEnv(args: readonly string[], io: CompatIO): Promise<StageContext> {
  const env = io.env;
  const parsed = parseInTargetArgs(args, env);
  const need = (k: string): string => {
    const v = env[k];
    if (!v)
      throw new ValidationError(
        'curtin',
        `${k} is not set: curtin subcommands run inside pxm install stages`,
      );
    return v;
  };
  const configFile = need('CONFIG');
  let config: ConfigMap;
  try {
    config = JSON.parse(await readFile(configFile, 'utf8')) as ConfigMap;
  } catch (error) {
    throw new ValidationError(
      `CONFIG ${configFile}`,
      `cannot read the install config: ${errorMessage(error)}`,
    );
  }
  const workingDir = need('WORKING_DIR');
  const paths: WorkingPaths = {
    top: path.dirname(workingDir),
    workingDir,
    bin: path.join(workingDir, 'bin'),
    configFile,
    fstab: need('OUTPUT_FSTAB'),
    interfaces: env.OUTPUT_INTERFACES ?? '',
    networkConfig: env.OUTPUT_NETWORK_CONFIG ?? '',
    networkState: env.OUTPUT_NETWORK_STATE ?? '',
  };
  const contract = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const stackName = env.CURTIN_REPORTSTACK ?? 'cmd-install';
  const reporter = new Reporter([]);
  return {
    config,
    target: parsed.target ?? need('TARGET_MOUNT_POINT'),
    // Subprocesses cannot know; the parent install skipped partitioning if it was.
    targetIsDirectory: false,
    paths,
    env: contract,
    runner: new Runner({ output: io.output }),
    stack: reporter.stack(stackName, 'curtin subcommand'),
    log: (line) => io.output.write(`${line}\n`, 'stderr'),
    // As in curtin, what a subcommand mounts stays mounted: the install that ran this
    // command unmounts everything under the target at its end.
    onFinish: () => undefined,
  };
}
