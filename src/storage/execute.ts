// Runs a storage plan through the Runner. Partition nodes are awaited by polling for
// them (never a fixed sleep) and verified against the planned start and size. If any
// step fails, what the run made is torn down in reverse (unmount, deactivate volume
// groups, close crypt devices, stop md arrays); if teardown itself fails, the error says
// exactly what is left.
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Runner } from '../runner/runner.js';
import type { EventStack } from '../report/events.js';
import { errorMessage, PxmError } from '../util/errors.js';
import { renderFstab } from './fstab.js';
import type { ExpectedPartition, StoragePlan, StorageStep, Teardown } from './types.js';

export interface ExecuteOptions {
  runner: Runner;
  stack?: EventStack;
  /** How long to wait for partition nodes to appear. */
  nodeTimeoutMs?: number;
}

/** A step failed; `leftBehind` lists what teardown could not undo (empty = clean). */
export class StorageExecutionError extends PxmError {
  readonly leftBehind: string[];
  constructor(step: string, cause: unknown, leftBehind: string[]) {
    const left = leftBehind.length
      ? `; teardown failed, left behind: ${leftBehind.join('; ')}`
      : '; everything it had set up was torn down';
    super(`storage: ${step} failed: ${errorMessage(cause)}${left}`, { cause });
    this.name = 'StorageExecutionError';
    this.leftBehind = leftBehind;
  }
}

async function isBlockDevice(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isBlockDevice();
  } catch {
    return false;
  }
}

async function sysNumber(node: string, attr: string): Promise<number | undefined> {
  try {
    return Number(
      (await readFile(`/sys/class/block/${path.basename(node)}/${attr}`, 'utf8')).trim(),
    );
  } catch {
    return undefined;
  }
}

/**
 * Makes the kernel's partition nodes of a disk match its table, then verifies them.
 * Without udev (this host, loop devices) nothing adds them: `partx --add` does. With udev,
 * closing the disk after sfdisk makes udevd re-read the table itself, racing with us; so
 * this only adds what is missing (`--nr N:N`), fixes what is stale (`partx --update`),
 * and polls (2 ms doubling to 100 ms, no fixed sleep) until every node is right.
 */
async function partitionsStep(
  runner: Runner,
  step: Extract<StorageStep, { kind: 'partitions' }>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nr = (p: ExpectedPartition) => ['--nr', `${p.number}:${p.number}`, step.disk];
  let delay = 2;
  let problems: string[] = [];
  // A new table: one partx for all nodes, unless udev got there first.
  if (!step.addMissing) {
    const present = await Promise.all(step.partitions.map((p) => isBlockDevice(p.node)));
    if (!present.some(Boolean)) {
      await runner.run({
        argv: ['partx', '--add', step.disk],
        description: `add the partition nodes of ${step.disk}`,
        allowFailure: true,
      });
    }
  }
  while (true) {
    problems = [];
    for (const p of step.partitions) {
      if (!(await isBlockDevice(p.node))) {
        problems.push(`${p.node} missing`);
        await runner.run({
          argv: ['partx', '--add', ...nr(p)],
          description: `add node ${p.node}`,
          allowFailure: true,
        });
        continue;
      }
      const wrong = await checkNode(p);
      if (wrong) {
        problems.push(wrong);
        await runner.run({
          argv: ['partx', '--update', ...nr(p)],
          description: `update node ${p.node}`,
          allowFailure: true,
        });
      }
    }
    if (problems.length === 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
  throw new PxmError(
    `partition nodes of ${step.disk} not right after ${timeoutMs} ms: ${problems.join('; ')}`,
  );
}

async function checkNode(p: ExpectedPartition): Promise<string | undefined> {
  const start = await sysNumber(p.node, 'start');
  const size = await sysNumber(p.node, 'size');
  if (
    start !== p.start512 ||
    (size !== p.size512 && !(p.extended && size !== undefined && size <= 2))
  ) {
    return `${p.node} is at ${start}+${size}, expected ${p.start512}+${p.size512} (512-byte sectors)`;
  }
  return undefined;
}

async function verifyFormat(runner: Runner, device: string, fstype: string): Promise<void> {
  const r = await runner.probe({
    argv: ['blkid', '-p', '-s', 'TYPE', '-o', 'value', device],
    allowFailure: true,
  });
  const found = r.stdout.trim();
  if (found !== fstype) {
    throw new PxmError(
      `preserve: ${device} holds ${found ? `a ${found} filesystem` : 'no filesystem'}, expected ${fstype}`,
    );
  }
}

function teardownArgv(t: Teardown): string[] {
  switch (t.kind) {
    case 'umount':
      return ['umount', t.path];
    case 'vg':
      return ['vgchange', '--activate', 'n', t.name];
    case 'md':
      return ['mdadm', '--stop', t.node];
    case 'crypt':
      return ['cryptsetup', 'close', t.name];
  }
}

export function describeTeardown(t: Teardown): string {
  switch (t.kind) {
    case 'umount':
      return `mounted at ${t.path}`;
    case 'vg':
      return `volume group ${t.name} active`;
    case 'md':
      return `md array ${t.node} running`;
    case 'crypt':
      return `crypt device ${t.name} open`;
  }
}

/** Whether what a step creates exists now (for a step that failed or was killed). */
async function isPresent(t: Teardown): Promise<boolean> {
  switch (t.kind) {
    case 'umount': {
      const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
      const dir = path.resolve(t.path);
      // /proc/self/mounts escapes spaces and such as octal (\040).
      return mounts
        .split('\n')
        .some(
          (l) =>
            l
              .split(' ')[1]
              ?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) ===
            dir,
        );
    }
    case 'vg':
      return isDirectory(`/dev/${t.name}`);
    case 'md':
      return isBlockDevice(t.node);
    case 'crypt':
      return isBlockDevice(`/dev/mapper/${t.name}`);
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Undoes `made` in reverse; returns what could not be undone. */
export async function teardown(runner: Runner, made: Teardown[]): Promise<string[]> {
  const left: string[] = [];
  for (const t of [...made].reverse()) {
    const r = await runner.run({
      argv: teardownArgv(t),
      description: `undo: ${describeTeardown(t)}`,
      allowFailure: true,
    });
    if (r.exitCode !== 0)
      left.push(
        `${describeTeardown(t)} (${teardownArgv(t).join(' ')}: ${r.stderr.trim().split('\n').pop() ?? ''})`,
      );
  }
  return left;
}

async function runWithRetries(
  runner: Runner,
  step: Extract<StorageStep, { kind: 'exec' }>,
): Promise<void> {
  const spec = {
    argv: step.argv,
    input: step.input,
    description: step.description,
    allowFailure: step.allowFailure,
  };
  let delay = 20;
  for (let attempt = 0; ; attempt++) {
    try {
      await runner.run(spec);
      return;
    } catch (error) {
      if (attempt >= (step.retries ?? 0)) throw error;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

/** Writes zeros over [offset, offset+length) of a block device and syncs them to it. */
async function zeroRange(device: string, offset: number, length: number): Promise<void> {
  const fh = await open(device, 'r+');
  try {
    const chunk = Buffer.alloc(Math.min(length, 1024 * 1024));
    for (let done = 0; done < length;) {
      const n = Math.min(chunk.length, length - done);
      const { bytesWritten } = await fh.write(chunk, 0, n, offset + done);
      done += bytesWritten;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function runStep(runner: Runner, step: StorageStep, timeoutMs: number): Promise<void> {
  switch (step.kind) {
    case 'exec':
      await runWithRetries(runner, step);
      return;
    case 'zero':
      await runner.action({ kind: 'write', path: step.device, description: step.description }, () =>
        zeroRange(step.device, step.offset, step.length),
      );
      return;
    case 'partitions':
      await runner.action({ kind: 'action', description: step.description }, () =>
        partitionsStep(runner, step, timeoutMs),
      );
      return;
    case 'verify-format':
      await runner.action({ kind: 'action', description: step.description }, () =>
        verifyFormat(runner, step.device, step.fstype),
      );
      return;
    case 'mkdir':
      await runner.action({ kind: 'write', path: step.path, description: step.description }, () =>
        mkdir(step.path, { recursive: true }),
      );
      return;
    case 'fstab':
      await runner.action(
        { kind: 'write', path: step.path, description: step.description },
        async () => {
          const text = await renderFstab(runner, step.entries);
          await mkdir(path.dirname(step.path), { recursive: true });
          await writeFile(step.path, text);
        },
      );
      return;
    case 'crypttab':
      await runner.action(
        { kind: 'write', path: step.path, description: step.description },
        async () => {
          await mkdir(path.dirname(step.path), { recursive: true });
          await writeFile(step.path, step.lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
        },
      );
      return;
    case 'lanes':
      // Dry-run prints the plan, so it keeps a stable order: lanes one after another.
      await settleAll(step.lanes, runner.dryRun ? 1 : step.lanes.length, async (lane) => {
        for (const s of lane) {
          try {
            await runStep(runner, s, timeoutMs);
          } catch (error) {
            throw error instanceof BatchStepError ? error : new BatchStepError(s, error);
          }
        }
      });
      return;
  }
}

/**
 * Executes the plan. Returns what it set up (mounts, VGs, md, crypt) so a caller that
 * later fails can tear it down with `teardown`.
 */
/** Consecutive concurrent steps from `i`: the batch executePlan runs side by side. */
function batchAt(steps: StorageStep[], i: number): StorageStep[] {
  const first = steps[i] as StorageStep;
  if (first.kind !== 'exec' || !first.concurrent) return [first];
  let j = i;
  while (j < steps.length) {
    const s = steps[j] as StorageStep;
    if (s.kind !== 'exec' || !s.concurrent) break;
    j++;
  }
  return steps.slice(i, j);
}

/** Runs `items` with at most `limit` in flight; waits for all, then throws the first failure. */
async function settleAll<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const errors: { item: T; error: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        errors.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  const first = errors[0];
  if (first?.error instanceof BatchStepError) throw first.error;
  if (first) throw new BatchStepError(first.item, first.error);
}

class BatchStepError extends Error {
  constructor(
    readonly item: unknown,
    readonly error: unknown,
  ) {
    super(errorMessage(error));
  }
}

/**
 * Executes the plan. Returns what it set up (mounts, VGs, md, crypt) so a caller that
 * later fails can tear it down with `teardown`.
 */
export async function executePlan(plan: StoragePlan, opts: ExecuteOptions): Promise<Teardown[]> {
  const { runner } = opts;
  const made: Teardown[] = [];
  const total = plan.steps.length;
  const timeout = opts.nodeTimeoutMs ?? 10_000;
  // Two at a time is enough to overlap one mkfs's disk waits with another's CPU work.
  const limit = Math.max(1, Math.min(availableParallelism(), 4));
  for (let i = 0; i < total;) {
    const batch = batchAt(plan.steps, i);
    try {
      if (batch.length === 1) await runStep(runner, batch[0] as StorageStep, timeout);
      else await settleAll(batch, limit, (s) => runStep(runner, s, timeout));
    } catch (e) {
      const step = (e instanceof BatchStepError ? e.item : batch[0]) as StorageStep;
      const error = e instanceof BatchStepError ? e.error : e;
      // A killed mount or mdadm may have finished its work before it died.
      if (step.kind === 'exec' && step.creates && (await isPresent(step.creates)))
        made.push(step.creates);
      const left = runner.dryRun ? [] : await teardown(runner, made);
      throw new StorageExecutionError(step.description, error, left);
    }
    for (const step of batch) if (step.kind === 'exec' && step.creates) made.push(step.creates);
    i += batch.length;
    opts.stack?.progress(i, total, 'items');
  }
  return made;
}
