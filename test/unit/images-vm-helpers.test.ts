import { describe, expect, it } from 'vitest';
import { parseScenarios, scenarioScript } from '../helpers/vm.js';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

describe('VM scenario scripts', () => {
  it('runs each scenario in its own shell and reports each status', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pxm-scen-'));
    try {
      // The generated script writes to /run/pxm-harness in the guest; point it here.
      const script = scenarioScript([
        { name: 'ok', script: 'echo hello' },
        { name: 'fails', script: 'echo before\nfalse\necho never' },
        { name: 'quote', script: "echo 'it''s' \"$HOME\" PXM_SCENARIO" },
      ]).replaceAll('/run/pxm-harness', dir);
      const r = await execa('bash', ['-c', script], { reject: false, all: true });
      const s = parseScenarios(String(r.all));
      expect(s.ok).toEqual({ exitCode: 0, output: 'hello\n' });
      expect(s.fails?.exitCode).toBe(1);
      expect(s.fails?.output).toBe('before\n');
      expect(s.quote?.output).toContain('its');
      expect(s.quote?.exitCode).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects scenario names that would break the markers', () => {
    expect(() => scenarioScript([{ name: 'a b', script: 'true' }])).toThrow(/scenario name/);
  });

  it('a scenario without an end marker is absent', () => {
    expect(parseScenarios('@@pxm-scenario-begin x\nhalf\n')).toEqual({});
  });
});
