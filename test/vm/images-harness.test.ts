// The harness's failure path: a guest whose script hangs is killed at its limit and
// reported as such, with the console tail, and nothing is left running. This boot also
// takes the network path a bare machine would (iPXE over DHCP/TFTP, kernel and initrd
// over HTTP, squashfs over HTTP), so the same artefacts are proven PXE-bootable.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { capable } from '../helpers/capability.js';
import { vmCapability } from '../helpers/vm-image.js';
import { bootVm, VmError } from '../helpers/vm.js';

const run = capable(vmCapability(), 'VM tests (harness timeouts)');

describe.skipIf(!run)('VM harness bounds', () => {
  it(
    'PXE-boots, then kills the hung guest at its timeout and reports it with the console tail',
    async () => {
      let error: unknown;
      try {
        await bootVm({
          disks: [{ sizeMiB: 16 }],
          script: 'echo pxm-hang-marker\nsleep 3600\n',
          // Boots take 2-7 min here depending on load; the script limit is what is tested.
          timeoutMs: 900_000,
          scriptTimeoutMs: 15_000,
          boot: 'pxe',
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VmError);
      const vmError = error as VmError;
      expect(vmError.kind, vmError.message).toBe('script-timeout');
      expect(vmError.scriptStarted).toBe(true);
      expect(vmError.message).toMatch(/did not finish within 15 s and was killed/);
      // The script's output streams to the console, so the tail shows where it hung.
      expect(vmError.message).toContain('pxm-hang-marker');
      // Everything came over the network, in boot order.
      const gets = vmError.requests.filter((r) => r.startsWith('GET '));
      expect(gets.slice(0, 3)).toEqual(['GET /vmlinuz', 'GET /initrd.img', 'GET /root.squashfs']);
      expect(gets).toContain('GET /script');
      // qemu is gone (killed and reaped), not left running in the background.
      expect(vmError.qemuPid).toBeGreaterThan(0);
      expect(existsSync(`/proc/${vmError.qemuPid}`)).toBe(false);
    },
    45 * 60_000,
  );
});
