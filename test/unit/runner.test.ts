import { describe, it, expect } from 'vitest';
import { Runner, formatStep } from '../../src/runner/runner.js';
import { CommandFailedError } from '../../src/util/errors.js';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

describe('Runner', () => {
  it('runs commands with the base environment and captures output', async () => {
    const out: string[] = [];
    const r = new Runner({ env: { PXM_T: 'x1' }, output: { write: (c) => out.push(String(c)) } });
    const res = await r.run({ argv: ['sh', '-c', 'echo "$PXM_T"; echo err >&2'] });
    expect(res.stdout).toBe('x1\n');
    expect(res.stderr).toBe('err\n');
    expect(out.join('')).toContain('x1');
  });

  it('throws CommandFailedError with the status on failure', async () => {
    const r = new Runner();
    await expect(r.run({ argv: ['sh', '-c', 'echo boom >&2; exit 7'] })).rejects.toMatchObject({
      status: 7,
      message: expect.stringContaining('boom'),
    });
    await expect(r.run({ argv: ['/nonexistent/cmd'] })).rejects.toBeInstanceOf(CommandFailedError);
  });

  it('dry-run records the plan and changes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pxm-runner-'));
    const marker = path.join(dir, 'marker');
    const r = new Runner({ dryRun: true });
    await r.run({ argv: ['touch', marker], description: 'make marker' });
    const v = await r.action({ kind: 'write', path: marker }, async () => 'ran');
    expect(v).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
    expect(r.plan.map(formatStep)).toEqual([
      `run   touch ${marker}    # make marker`,
      `write ${marker}`,
    ]);
  });
});
