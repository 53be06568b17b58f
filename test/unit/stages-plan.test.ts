import { describe, expect, it } from 'vitest';
import { planCommands, planStages, toAction } from '../../src/stages/plan.js';
import { builtinConfig } from '../../src/config/load.js';
import { contractEnv, proxyEnv } from '../../src/stages/env.js';
import { workingPaths } from '../../src/stages/context.js';
import { checkSupported } from '../../src/stages/capabilities.js';
import type { InstallModules } from '../../src/stages/modules.js';

describe('stage planning (curtin ordering rules)', () => {
  it('sorts command keys as strings: 9_x runs after 10_x', () => {
    const keys = planCommands({ '9_x': 'a', '10_x': 'b', '01_y': 'c', b: 'd', B: 'e' }).map(
      (c) => c.key,
    );
    expect(keys).toEqual(['01_y', '10_x', '9_x', 'B', 'b']);
  });

  it('skips falsy entries; lists are argv, strings go through the shell', () => {
    expect(toAction(null)).toBeUndefined();
    expect(toAction(false)).toBeUndefined();
    expect(toAction('')).toBeUndefined();
    expect(toAction([])).toBeUndefined();
    expect(toAction(['echo', 1])).toEqual({ kind: 'exec', argv: ['echo', '1'] });
    expect(toAction('echo $HOME')).toEqual({ kind: 'shell', script: 'echo $HOME' });
    expect(toAction(['curtin', 'block-meta', 'custom'])).toEqual({
      kind: 'builtin',
      name: 'block-meta',
      args: ['custom'],
    });
    // in-target is not a builtin: it runs through the `curtin` shim like any command.
    expect(toAction(['curtin', 'in-target', '--', 'true'])).toEqual({
      kind: 'exec',
      argv: ['curtin', 'in-target', '--', 'true'],
    });
  });

  it('follows stages: and skips partitioning for --target installs', () => {
    const config = {
      ...builtinConfig(),
      stages: ['late', 'early', 'partitioning'],
      early_commands: { a: 'x' },
    };
    const plan = planStages(config, { targetIsDirectory: true });
    expect(plan.map((s) => s.name)).toEqual(['late', 'early', 'partitioning']);
    expect(plan[0]?.commands).toEqual([]); // late builtin: [] is falsy
    expect(plan[2]?.skipped).toMatch(/--target/);
    expect(planStages(builtinConfig(), { targetIsDirectory: false }).every((s) => !s.skipped)).toBe(
      true,
    );
  });
});

describe('environment contract', () => {
  it('exports curtin variables, proxies and the shim dir first on PATH', () => {
    const paths = workingPaths('/tmp/w');
    const env = contractEnv(
      paths,
      '/t',
      { proxy: { http_proxy: 'http://p:1', no_proxy: 'local' } },
      '/usr/bin',
    );
    expect(env).toEqual({
      WORKING_DIR: '/tmp/w/scratch',
      OUTPUT_FSTAB: '/tmp/w/state/fstab',
      OUTPUT_INTERFACES: '/tmp/w/state/interfaces',
      OUTPUT_NETWORK_CONFIG: '/tmp/w/state/network_config',
      OUTPUT_NETWORK_STATE: '/tmp/w/state/network_state',
      TARGET_MOUNT_POINT: '/t',
      CONFIG: '/tmp/w/state/config',
      PATH: '/tmp/w/scratch/bin:/usr/bin',
      http_proxy: 'http://p:1',
      HTTP_PROXY: 'http://p:1',
      no_proxy: 'local',
      NO_PROXY: 'local',
    });
    expect(proxyEnv({ http_proxy: 'http://legacy:3' })).toEqual({
      http_proxy: 'http://legacy:3',
      HTTP_PROXY: 'http://legacy:3',
    });
  });
});

describe('refusing what this build cannot do, before anything runs', () => {
  const none: InstallModules = {};
  it('a disk install without storage: never guesses a disk', () => {
    const config = builtinConfig();
    const stages = planStages(config, { targetIsDirectory: false });
    expect(() =>
      checkSupported(config, new Map(), stages, none, { targetIsDirectory: false }),
    ).toThrow(/no storage: config and no --target DIR/);
  });

  it('names the file of a key whose module is missing', () => {
    const config = { ...builtinConfig(), network: { version: 1, config: [] } };
    const prov = new Map([['network', 'net.yaml']]);
    const stages = planStages(config, { targetIsDirectory: true });
    expect(() => checkSupported(config, prov, stages, none, { targetIsDirectory: true })).toThrow(
      'net.yaml: network: not supported yet: this pxm build has no network module',
    );
    const noBuiltin = { ...config, network_commands: { builtin: null } };
    const stages2 = planStages(noBuiltin, { targetIsDirectory: true });
    expect(() =>
      checkSupported(noBuiltin, prov, stages2, none, { targetIsDirectory: true }),
    ).not.toThrow();
  });
});
