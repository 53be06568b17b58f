import { describe, it, expect, afterAll } from 'vitest';
import { Runner, formatStep } from '../../src/runner/runner.js';
import { CommandFailedError } from '../../src/util/errors.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
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

/** True while the process runs: a dead one that nobody reaped yet (zombie) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('Runner: stopping a command', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pxm-runner-stop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // sh forks a grandchild that inherits stdout and outlives sh when only sh is killed.
  const grandchild = (pidFile: string): string[] => [
    'sh',
    '-c',
    `sleep 600 & echo $! > ${pidFile}; wait`,
  ];

  it('a timeout fails the step and kills the grandchild holding the output pipe', async () => {
    const pidFile = path.join(dir, 'timeout.pid');
    const r = new Runner();
    const err: unknown = await r.run({ argv: grandchild(pidFile), timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as Error).message).toContain('timed out after 300 ms');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await gone(pid)).toBe(true);
  });

  it('cancelling through the AbortSignal kills the whole group', async () => {
    const pidFile = path.join(dir, 'cancel.pid');
    const r = new Runner();
    const ac = new AbortController();
    const running = r.run({ argv: grandchild(pidFile), signal: ac.signal }).catch((e) => e);
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      await new Promise((res) => setTimeout(res, 20));
    }
    ac.abort();
    const err: unknown = await running;
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as Error).message).toContain('cancelled');
    expect(await gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });
  it('Ctrl-C on pxm with no handler of its own stops the group and pxm still dies of it', async () => {
    const pidFile = path.join(dir, 'sigint.pid');
    const runnerUrl = pathToFileURL(path.resolve('src/runner/runner.ts')).href;
    const script = path.join(dir, 'sigint.mts');
    writeFileSync(
      script,
      `import { Runner } from ${JSON.stringify(runnerUrl)};\n` +
        `await new Runner().run({ argv: ${JSON.stringify(grandchild(pidFile))} });\n`,
    );
    const node = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) =>
      node.on('exit', (_c, sig) => res(sig)),
    );
    try {
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
        await new Promise((res) => setTimeout(res, 20));
      }
      node.kill('SIGINT');
      expect(await exited).toBe('SIGINT');
      expect(await gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
    } finally {
      node.kill('SIGKILL');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  });
});

describe('CommandFailedError summary', () => {
  it('names the real error, not a trailing Node or git hint', () => {
    const node = new CommandFailedError(
      ['node', 'x.js'],
      1,
      'Error: disk /dev/sdz not found\n(Use `node --trace-warnings ...` to show where the warning was created)\n',
    );
    expect(node.message).toBe('node x.js: exit status 1 (Error: disk /dev/sdz not found)');
    const git = new CommandFailedError(
      ['git', 'init'],
      128,
      'fatal: cannot mkdir /ro\nhint: see git help init\n',
    );
    expect(git.message).toBe('git init: exit status 128 (fatal: cannot mkdir /ro)');
  });
});
