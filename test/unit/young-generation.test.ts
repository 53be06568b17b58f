import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { keepYoungGenerationSmall } from '../../src/util/young-generation.js';

const newSpace = (): number =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

describe('keepYoungGenerationSmall', () => {
  it('stops the young generation growing while most allocations survive (leases)', () => {
    // Without the call this process's new space grows to 32 MiB (measured on Node 20,
    // 22 and 24); with it, it stays the size it had.
    const before = newSpace();
    keepYoungGenerationSmall();
    const leases = new Map<number, { ip: number; mac: string }>();
    for (let i = 0; i < 300_000; i++) leases.set(i, { ip: i, mac: `52:54:00:${i}` });
    expect(leases.size).toBe(300_000);
    expect(newSpace()).toBeLessThanOrEqual(Math.max(before, 2 * 1024 * 1024));
  });
});
