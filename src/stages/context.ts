// What a stage builtin (and the modules behind it) gets to work with.
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import type { ConfigMap } from '../config/merge.js';

/** curtin's working directory layout; every path here is exported to commands. */
export interface WorkingPaths {
  /** Top of pxm's temporary tree for this install. */
  top: string;
  /** WORKING_DIR: scratch space for commands. */
  workingDir: string;
  /** WORKING_DIR/bin: first on PATH, holds the `curtin` and `pxm` shims. */
  bin: string;
  /** CONFIG: the merged config, as JSON. */
  configFile: string;
  fstab: string;
  interfaces: string;
  networkConfig: string;
  networkState: string;
}

export function workingPaths(top: string): WorkingPaths {
  const state = path.join(top, 'state');
  const workingDir = path.join(top, 'scratch');
  return {
    top,
    workingDir,
    bin: path.join(workingDir, 'bin'),
    configFile: path.join(state, 'config'),
    fstab: path.join(state, 'fstab'),
    interfaces: path.join(state, 'interfaces'),
    networkConfig: path.join(state, 'network_config'),
    networkState: path.join(state, 'network_state'),
  };
}

export interface StageContext {
  /** The merged, validated config. Read-only by convention. */
  config: ConfigMap;
  /** TARGET_MOUNT_POINT: the root of the system being installed. */
  target: string;
  /** true for `--target DIR`: no disks, partitioning skipped. */
  targetIsDirectory: boolean;
  paths: WorkingPaths;
  /** The environment contract (WORKING_DIR, OUTPUT_*, CONFIG, ...) for commands. */
  env: Readonly<Record<string, string>>;
  /** Runner whose commands get `env`; dry-run records instead of running. */
  runner: Runner;
  /** This builtin's event stack: make children for sub-steps, report progress on it. */
  stack: EventStack;
  /** A line in the install log. */
  log: (line: string) => void;
  /**
   * Registers an undo step (unmount, deactivate) run at the end of the install, after
   * the config and log are saved into the target, also when the install failed.
   */
  onFinish: (undo: () => Promise<void>) => void;
  /** Aborted when the install is interrupted (SIGINT/SIGTERM): stop long work. */
  signal?: AbortSignal;
}
