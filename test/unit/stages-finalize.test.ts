import { afterAll, describe, expect, it } from 'vitest';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runner } from '../../src/runner/runner.js';
import { redactSecrets, saveIntoTarget } from '../../src/stages/finalize.js';
import { parseInTargetArgs } from '../../src/stages/curtin-compat.js';
import { builtinConfig } from '../../src/config/load.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('end of install', () => {
  it('saves the config 0400 inside the target even when the image links /root out of it', async () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'pxm-finalize-test-'));
    dirs.push(top);
    const target = path.join(top, 'target');
    const outside = path.join(top, 'outside');
    mkdirSync(target);
    mkdirSync(outside);
    // A hostile image: /root is an absolute symlink, which must resolve inside the target.
    symlinkSync(outside, path.join(target, 'root'));
    await saveIntoTarget(new Runner(), target, builtinConfig(), undefined);
    const inside = path.join(target, outside, 'curtin-install-cfg.yaml');
    expect(statSync(inside).mode & 0o777).toBe(0o400);
    expect(readFileSync(inside, 'utf8')).toMatch(/^stages:/m);
    expect(existsSync(path.join(outside, 'curtin-install-cfg.yaml'))).toBe(false);
  });

  it('a dry run records the writes and creates nothing', async () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'pxm-finalize-test-'));
    dirs.push(top);
    const runner = new Runner({ dryRun: true });
    await saveIntoTarget(runner, path.join(top, 'target'), builtinConfig(), '/var/log/x.log');
    expect(runner.plan.map((s) => (s.kind === 'write' ? s.path : s.kind))).toEqual([
      path.join(top, 'target/root/curtin-install-cfg.yaml'),
      path.join(top, 'target/root/curtin-install.log'),
    ]);
    expect(existsSync(path.join(top, 'target'))).toBe(false);
  });

  it('redacts secrets in what leaves the machine', () => {
    expect(
      redactSecrets({
        reporting: { maas: { token_key: 'k', token_secret: 's', endpoint: 'http://x' } },
        a: [{ password: 'p' }],
      }),
    ).toEqual({
      reporting: {
        maas: { token_key: '<redacted>', token_secret: '<redacted>', endpoint: 'http://x' },
      },
      a: [{ password: '<redacted>' }],
    });
  });
});

describe('curtin in-target arguments', () => {
  it('takes the target from TARGET_MOUNT_POINT unless given; the command follows --', () => {
    expect(
      parseInTargetArgs(['--', 'apt-get', '-y', 'install'], { TARGET_MOUNT_POINT: '/t' }),
    ).toEqual({
      target: '/t',
      allowDaemons: false,
      command: ['apt-get', '-y', 'install'],
    });
    expect(parseInTargetArgs(['-a', '--target=/x', 'ls', '-l'], {})).toEqual({
      target: '/x',
      allowDaemons: true,
      command: ['ls', '-l'],
    });
  });
});
