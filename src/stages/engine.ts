// The install engine: validated config -> planned stages -> commands and builtins through
// one Runner, with curtin's events, environment, finalisation and exit statuses.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { validateConfig } from '../config/validate.js';
import { EventStack, Reporter, type ReportHandler } from '../report/events.js';
import { InstallLog } from '../report/install-log.js';
import { LogHandler } from '../report/handlers/log.js';
import { JsonLinesHandler } from '../report/handlers/json-lines.js';
import { TtyHandler } from '../report/handlers/tty.js';
import { handlersFromConfig } from '../report/from-config.js';
import { Runner, formatStep, type OutputSink, type PlanStep } from '../runner/runner.js';
import { ExitCode, PxmError, ValidationError, errorMessage } from '../util/errors.js';
import { runBuiltin } from './builtins.js';
import { checkStorageEarly, checkSupported } from './capabilities.js';
import { workingPaths, type StageContext, type WorkingPaths } from './context.js';
import { contractEnv } from './env.js';
import { installSettings, postFiles, saveIntoTarget, writeErrorTarball } from './finalize.js';
import { installModules, type InstallModules } from './modules.js';
import { planStages, type PlannedCommand, type PlannedStage } from './plan.js';
import { writeShims } from './shims.js';
import { mountsUnder } from '../target/mounts.js';

export const TOP_STACK = 'cmd-install';

export interface InstallOptions {
  loaded: LoadedConfig;
  /** `--target DIR`: install into this directory (created if missing); no disks. */
  target?: string;
  dryRun?: boolean;
  /** Events as JSON lines on stdout; command output goes to stderr and the log. */
  json?: boolean;
  /** Show an ora spinner (stderr is a terminal and not --json). */
  tty?: boolean;
  /** argv that runs this pxm again (for the `curtin`/`pxm` shims). */
  self: readonly string[];
  modules?: InstallModules;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream;
  /** Extra handlers (tests). */
  handlers?: ReportHandler[];
}

export interface InstallResult {
  exitCode: number;
  /** One line: why the install failed. */
  cause?: string;
  errorTarfile?: string;
  plan: PlanStep[];
}

/**
 * Validates everything first (exit 2, nothing touched), then runs. A failed stage gives
 * exit 3 with an error tarball; the result never throws for stage failures.
 */
export async function runInstall(opts: InstallOptions): Promise<InstallResult> {
  const { config, provenance } = opts.loaded;
  const modules = opts.modules ?? installModules;
  const targetIsDirectory = opts.target !== undefined;
  if (opts.target !== undefined && path.resolve(opts.target) === '/') {
    // Extracting an image over the running system is never what anyone meant.
    throw new ValidationError('--target /', 'refusing to install over the running system');
  }
  validateConfig(config, provenance);
  const stages = planStages(config, { targetIsDirectory });
  checkSupported(config, provenance, stages, modules, { targetIsDirectory });
  await checkStorageEarly(config, provenance, stages, modules);
  return opts.dryRun ? dryRun(opts, stages, modules) : realRun(opts, stages, modules);
}

async function dryRun(
  opts: InstallOptions,
  stages: PlannedStage[],
  modules: InstallModules,
): Promise<InstallResult> {
  const out = opts.stdout ?? process.stdout;
  const { config } = opts.loaded;
  // Paths a real run would use; nothing is created (not even the working dir or target).
  const paths = workingPaths(path.join(os.tmpdir(), 'pxm-install-XXXXXX'));
  const target = opts.target ? path.resolve(opts.target) : path.join(paths.top, 'target');
  const env = contractEnv(paths, target, config);
  const print = (line: string): void => {
    out.write(opts.json ? `${JSON.stringify({ event_type: 'plan', line })}\n` : `${line}\n`);
  };
  const runner = new Runner({ dryRun: true, env, onStep: (s) => print(formatStep(s)) });
  const reporter = new Reporter([]);
  const top = reporter.stack(TOP_STACK, 'curtin command install');
  const st: RunState = {
    opts,
    runner,
    reporter,
    top,
    paths,
    target,
    env,
    modules,
    log: () => undefined,
    announce: print,
    cleanups: [],
  };
  await runStages(stages, st);
  await saveIntoTarget(runner, target, config, installSettings(config).logFile);
  await releaseTarget(st);
  return { exitCode: ExitCode.OK, plan: runner.plan };
}

interface RunState {
  opts: InstallOptions;
  runner: Runner;
  reporter: Reporter;
  top: EventStack;
  paths: WorkingPaths;
  target: string;
  env: Record<string, string>;
  modules: InstallModules;
  log: (line: string) => void;
  /** Dry-run: stage and command headers in the printed plan. */
  announce?: (line: string) => void;
  /** Undo steps registered by builtins (ctx.onFinish), run in reverse at the end. */
  cleanups: Array<() => Promise<void>>;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

async function realRun(
  opts: InstallOptions,
  stages: PlannedStage[],
  modules: InstallModules,
): Promise<InstallResult> {
  const { config } = opts.loaded;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const settings = installSettings(config);
  const installLog = new InstallLog(settings.logFile, { append: settings.logFileAppend });
  const consoleOut = opts.json ? stderr : stdout;
  const tty =
    opts.tty && !opts.json && TtyHandler.usable(stderr) ? new TtyHandler(stderr) : undefined;
  const warn = (m: string): void => {
    installLog.line(`warning: ${m}`);
    stderr.write(`pxm: warning: ${m}\n`);
  };
  const handlers: ReportHandler[] = [new LogHandler(installLog)];
  handlers.push(
    ...handlersFromConfig(config.reporting, { log: installLog, console: consoleOut, warn }),
  );
  if (opts.json) handlers.push(new JsonLinesHandler(stdout));
  if (tty) handlers.push(tty);
  handlers.push(...(opts.handlers ?? []));
  const reporter = new Reporter(handlers);
  const sink: OutputSink = {
    write(chunk) {
      installLog.write(chunk);
      if (tty) tty.writeOutput(chunk);
      else consoleOut.write(chunk);
    },
  };

  const paths = workingPaths(await mkdtemp(path.join(os.tmpdir(), 'pxm-install-')));
  const target = opts.target ? path.resolve(opts.target) : path.join(paths.top, 'target');
  const env = contractEnv(paths, target, config);
  const runner = new Runner({ output: sink, env });
  const interrupt = new AbortController();
  const top = reporter.stack(TOP_STACK, 'curtin command install');
  const log = (line: string): void => installLog.line(line);
  const st: RunState = {
    opts,
    runner,
    reporter,
    top,
    paths,
    target,
    env,
    modules,
    log,
    cleanups: [],
    signal: interrupt.signal,
  };
  // Ctrl-C or a SIGTERM stops the running command (and extraction), then the failure
  // path runs as for any failed command: events, error tarball, unmount, exit 3.
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`received ${sig}: stopping`);
    interrupt.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: InstallResult;
  try {
    await prepareWorkingDir(paths, target, config, opts.self);
    top.start();
    log(`pxm install: target ${target}${opts.target ? ' (directory)' : ''}`);
    await runStages(stages, st);
    await saveIntoTarget(runner, target, config, settings.logFile);
    await releaseTarget(st);
    log('Installation finished.');
    top.finish('SUCCESS', 'Installation finished', await postFiles(config, settings.logFile));
    if (!opts.json && !tty) consoleOut.write('Installation finished.\n');
    result = { exitCode: ExitCode.OK, plan: runner.plan };
  } catch (error) {
    if (
      error instanceof PxmError &&
      error.exitCode === ExitCode.INVALID &&
      runner.plan.length === 0
    ) {
      // Refused before anything ran (a builtin's own validation): still exit 2.
      await reporter.flush();
      installLog.close();
      await removeWorkingDir(paths, warn);
      throw error;
    }
    const cause = failureCause(error);
    log(`Installation failed: ${cause}`);
    let errorTarfile: string | undefined;
    if (settings.errorTarfile) {
      try {
        errorTarfile = await writeErrorTarball({
          tarfile: settings.errorTarfile,
          config,
          logFile: settings.logFile,
          env,
          paths,
          cause,
        });
        log(`error tarball: ${errorTarfile}`);
      } catch (tarError) {
        warn(
          `could not write the error tarball ${settings.errorTarfile}: ${errorMessage(tarError)}`,
        );
      }
    }
    await releaseTarget(st).catch((e: unknown) =>
      warn(`unmounting the target: ${errorMessage(e)}`),
    );
    top.finish('FAIL', `Installation failed: ${cause}`, await postFiles(config, settings.logFile));
    result = { exitCode: ExitCode.INSTALL_FAILED, cause, errorTarfile, plan: runner.plan };
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await reporter.flush();
  installLog.close();
  await removeWorkingDir(paths, warn);
  return result;
}

async function prepareWorkingDir(
  paths: WorkingPaths,
  target: string,
  config: Record<string, unknown>,
  self: readonly string[],
): Promise<void> {
  await mkdir(path.dirname(paths.configFile), { recursive: true });
  await mkdir(paths.workingDir, { recursive: true });
  await writeShims(paths.bin, self);
  await writeFile(paths.configFile, JSON.stringify(config), { mode: 0o600 });
  for (const f of [paths.fstab, paths.interfaces, paths.networkConfig, paths.networkState]) {
    await writeFile(f, '', { flag: 'a' });
  }
  await mkdir(target, { recursive: true });
}

/** Thrown inside the stage loop: which stage and command failed, and why. */
class StageFailure extends PxmError {
  constructor(stage: string, key: string, cause: unknown) {
    super(`stage ${stage}: ${key}: ${errorMessage(cause).split('\n')[0]}`, {
      exitCode: ExitCode.INSTALL_FAILED,
      cause,
    });
  }
}

async function runStages(stages: PlannedStage[], st: RunState): Promise<void> {
  for (const stage of stages) {
    const stack = st.top.child(`stage-${stage.name}`, stage.description);
    st.announce?.(`# stage ${stage.name}${stage.skipped ? ` (skipped: ${stage.skipped})` : ''}`);
    if (stage.skipped) {
      stack.start();
      stack.finish('SUCCESS', `skipped: ${stage.skipped}`);
      continue;
    }
    await stack.run(async () => {
      for (const cmd of stage.commands) await runCommand(stage, cmd, stack, st);
    });
  }
}

async function runCommand(
  stage: PlannedStage,
  cmd: PlannedCommand,
  stageStack: EventStack,
  st: RunState,
): Promise<void> {
  const stack = stageStack.child(cmd.key, `running '${cmd.key}'`);
  const runner = st.runner.withEnv({ CURTIN_REPORTSTACK: stack.name });
  try {
    await stack.run(async () => {
      const a = cmd.action;
      if (a.kind === 'builtin') {
        st.announce?.(`#   ${cmd.key}: curtin ${a.name} (pxm builtin)`);
        const ctx: StageContext = {
          config: st.opts.loaded.config,
          target: st.target,
          targetIsDirectory: st.opts.target !== undefined,
          paths: st.paths,
          env: { ...st.env, CURTIN_REPORTSTACK: stack.name },
          runner,
          stack,
          log: st.log,
          onFinish: (undo) => st.cleanups.push(undo),
          signal: st.signal,
        };
        await runBuiltin(a.name, a.args, ctx, st.modules);
      } else if (a.kind === 'exec') {
        await runner.run({ argv: a.argv, description: cmd.key, signal: st.signal });
      } else {
        await runner.run({ argv: ['sh', '-c', a.script], description: cmd.key, signal: st.signal });
      }
    });
  } catch (error) {
    if (
      error instanceof StageFailure ||
      (error instanceof PxmError &&
        error.exitCode === ExitCode.INVALID &&
        st.runner.plan.length === 0)
    )
      throw error;
    throw new StageFailure(stage.name, cmd.key, error);
  }
}

/**
 * End of install: the builtins' undo steps (storage teardown), then anything still mounted
 * under a disk target, deepest first (curtin), unless `install.unmount: disabled`.
 * A --target directory is left alone: pxm mounted nothing there that outlives a step.
 */
async function releaseTarget(st: RunState): Promise<void> {
  const install = (st.opts.loaded.config.install ?? {}) as Record<string, unknown>;
  if (install.unmount === 'disabled') return;
  const undo = st.cleanups.splice(0).reverse();
  for (const step of undo) await step();
  if (st.opts.target !== undefined || st.runner.dryRun) return;
  const left = (await mountsUnder(st.target)).sort(
    (a, b) => b.split('/').length - a.split('/').length,
  );
  for (const m of left) await st.runner.run({ argv: ['umount', m], description: 'unmount target' });
}

/**
 * Removes the working dir, unless something is still mounted below it (a disk target
 * whose unmount failed): a recursive delete would then erase the installed system.
 */
async function removeWorkingDir(paths: WorkingPaths, warn: (m: string) => void): Promise<void> {
  const mounted = await mountsUnder(paths.top);
  if (mounted.length) {
    warn(`left ${paths.top} in place: still mounted: ${mounted.join(', ')}`);
    return;
  }
  await rm(paths.top, { recursive: true, force: true });
}

function failureCause(error: unknown): string {
  return errorMessage(error).split('\n')[0] ?? 'unknown error';
}
