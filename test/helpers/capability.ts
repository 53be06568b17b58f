// Capability gate for tests that need a tool, a kernel feature or root.
//
// Locally a missing capability skips the test with the reason. Under CI=true it fails:
// CI installs everything the suite needs (scripts/test.sh), so a missing capability
// there is a broken setup, never a silent skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const inCI = process.env.CI === 'true';

export interface Capability {
  ok: boolean;
  reason: string;
}

export function haveCommand(cmd: string): Capability {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return { ok: true, reason: '' };
  } catch {
    return { ok: false, reason: `${cmd} not installed` };
  }
}

export function haveRoot(): Capability {
  return process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root' };
}

export function haveFile(path: string): Capability {
  return existsSync(path) ? { ok: true, reason: '' } : { ok: false, reason: `${path} missing` };
}

export function all(...caps: Capability[]): Capability {
  const missing = caps.filter((c) => !c.ok).map((c) => c.reason);
  return { ok: missing.length === 0, reason: missing.join(', ') };
}

/**
 * Returns true when the suite may run. Use as `describe.skipIf(!capable(...))` or call
 * at the top of a test. Under CI a missing capability throws, failing the suite.
 */
export function capable(cap: Capability, what = 'this test'): boolean {
  if (cap.ok) return true;
  if (inCI) throw new Error(`CI=true and ${what} cannot run: ${cap.reason}`);
  console.warn(`skipping ${what}: ${cap.reason}`);
  return false;
}
