import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AckPoller } from '../../src/server/tftp/ack-poller.js';

describe('AckPoller', () => {
  it('keeps the event loop awake after a window, then lets it sleep once the budget passes', async () => {
    const p = new AckPoller(3000);
    expect(p.active).toBe(false);
    p.windowSent();
    expect(p.active).toBe(true);
    // Events still run while it spins (it yields to every loop iteration).
    let ran = false;
    setImmediate(() => (ran = true));
    await sleep(0);
    expect(ran).toBe(true);
    await sleep(50);
    expect(p.active).toBe(false);
  });

  it('a new window extends the spin; budget 0 never spins', async () => {
    const p = new AckPoller(400_000);
    p.windowSent();
    await sleep(300);
    p.windowSent(); // 400 ms from now, not from the first window
    const second = performance.now();
    await sleep(200);
    // Past the first window's budget; the second one's still runs (unless this host
    // stalled this test for 200 ms more than asked).
    if (performance.now() - second < 390) expect(p.active).toBe(true);
    await sleep(450);
    expect(p.active).toBe(false);
    const off = new AckPoller(0);
    off.windowSent();
    expect(off.active).toBe(false);
  });
});
