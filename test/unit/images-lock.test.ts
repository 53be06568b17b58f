import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withFileLock } from '../../src/images/lock.js';

describe('image cache lock', () => {
  it('serialises holders and removes the lock afterwards', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pxm-lock-'));
    try {
      const lock = path.join(dir, 'img.lock');
      const order: string[] = [];
      // The second holder sees the first one's pid in the file and waits for it.
      const first = withFileLock(lock, async () => {
        order.push('a-start');
        await sleep(300);
        order.push('a-end');
      });
      await sleep(50);
      let waitedFor: number | undefined;
      const second = withFileLock(lock, async () => void order.push('b'), {
        onWait: (pid) => (waitedFor = pid),
      });
      await Promise.all([first, second]);
      expect(order).toEqual(['a-start', 'a-end', 'b']);
      expect(waitedFor).toBe(process.pid);
      expect(existsSync(lock)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('breaks a lock left by a dead process', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pxm-lock-'));
    try {
      const lock = path.join(dir, 'img.lock');
      await writeFile(lock, '999999999'); // no such pid
      let ran = false;
      await withFileLock(lock, async () => void (ran = true), { waitMs: 5000 });
      expect(ran).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
