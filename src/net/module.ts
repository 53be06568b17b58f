// The network module as the stage engine calls it (src/stages/modules.ts NetModule):
// the `net-meta` builtin runs runNetworkStage with the install's context.
import type { EventStack } from '../report/events.js';
import type { Runner } from '../runner/runner.js';
import { parseNetworkConfig } from './config.js';
import { runNetworkStage, type NetMetaMode } from './stage.js';

const MODES: readonly string[] = ['auto', 'custom', 'dhcp', 'disabled'];

/** `curtin net-meta [MODE] [-D DEV]...` arguments → mode and devices. */
export function parseNetMetaArgs(args: readonly string[]): {
  mode: NetMetaMode;
  devices: string[];
} {
  const devices: string[] = [];
  let mode: NetMetaMode = 'auto';
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = /^--devices?=(.*)$/.exec(a);
    if (eq) devices.push(eq[1] ?? '');
    else if (a === '-D' || a === '--device' || a === '--devices') devices.push(args[++i] ?? '');
    else if (MODES.includes(a)) mode = a as NetMetaMode;
  }
  return { mode, devices: devices.filter(Boolean) };
}

/** The part of src/stages' StageContext this module uses (structurally compatible). */
export interface NetStageContext {
  config: Record<string, unknown>;
  paths: { networkConfig: string };
  runner: Runner;
  stack: EventStack;
  log: (line: string) => void;
}

/** Satisfies src/stages/modules.ts NetModule; `args` are the builtin's (`net-meta dhcp -D eth0`). */
export const netModule = {
  async runNetwork(ctx: NetStageContext, args: readonly string[] = []) {
    const { mode, devices } = parseNetMetaArgs(args);
    const result = await runNetworkStage({
      runner: ctx.runner,
      stack: ctx.stack,
      config: ctx.config,
      outputNetworkConfig: ctx.paths.networkConfig,
      mode,
      devices,
    });
    for (const w of result.warnings) ctx.log(`net-meta: warning: ${w}`);
    ctx.log(
      result.written
        ? `net-meta: ${result.mode} network config written to ${result.written}`
        : 'net-meta: network configuration disabled; nothing written',
    );
  },
  validateNetwork(config: unknown) {
    if (config !== undefined && config !== null) parseNetworkConfig({ network: config });
  },
};
