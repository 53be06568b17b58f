// The VM test harness: boots the ephemeral image under qemu (TCG, no KVM here) with blank
// virtual disks, injects the working tree's dist/pxm.cjs, runs a script inside and
// returns its exit status and output. See docs/ephemeral-image.md.
//
//   const r = await bootVm({ disks: [{ sizeMiB: 64 }], script: 'lsblk', timeoutMs: 300_000 });
//
// Transport: kernel + initrd are given to qemu directly; live-boot fetches root.squashfs
// from the harness's HTTP server (user-mode network, host loopback = 10.0.2.2), exactly
// as a netbooted machine would. A systemd unit baked into the image (`pxm.harness=URL`
// on the kernel command line) fetches the bundle and the script, runs it, POSTs the
// output and exit status back and powers off. Everything (qemu, server, temp files) is
// torn down in `finally`; disks survive only with keepDisks.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { bundlePath } from './pxm.js';
import { ensureTestImage, type TestImage } from './vm-image.js';
import { startVmServer } from './vm-server.js';

export interface VmDisk {
  sizeMiB: number;
}

export interface BootVmOptions {
  script: string;
  /** Blank sparse raw disks, attached as virtio-blk with serials disk-a, disk-b, ... */
  disks?: VmDisk[];
  /** Whole run, qemu start to report. Default 10 min (boots take 1.5 min idle, 7 loaded). */
  timeoutMs?: number;
  /** Limit from the moment the guest fetched the script. Default: only timeoutMs. */
  scriptTimeoutMs?: number;
  /** Keep the disk files (the caller removes `dir`). */
  keepDisks?: boolean;
  memoryMiB?: number;
  /** Default: ensureTestImage(). */
  image?: TestImage;
  /** Default: the working tree's dist/pxm.cjs. */
  bundle?: string;
  /**
   * How the script is started: `unit` (default) is the systemd unit baked into the image,
   * triggered by pxm.harness= on the kernel command line; `cloud-init` is a NoCloud seed
   * whose runcmd starts the same hook (what an operator's netbooted machine would use).
   */
  delivery?: 'unit' | 'cloud-init';
  /**
   * How the kernel arrives: `direct` (default) is qemu -kernel/-initrd; `pxe` is the
   * network path: the NIC's iPXE ROM gets DHCP and an iPXE script over TFTP from qemu's
   * user network, then kernel and initrd over HTTP from the harness's server.
   */
  boot?: 'direct' | 'pxe';
}

export interface VmResult {
  exitCode: number;
  /** The script's stdout and stderr. */
  output: string;
  /** The serial console log (kernel, systemd, the script's output). */
  console: string;
  /** Disk files (exist after return only with keepDisks). */
  disks: string[];
  /** Temp dir holding the disks (removed unless keepDisks). */
  dir: string;
  /** What the guest asked the harness's server for, in order. */
  requests: string[];
  /** sha256 of the bundle served to the guest (a snapshot of dist/pxm.cjs at boot). */
  bundleSha256: string;
  /** ms from qemu start to the script being fetched, and to the result. */
  timings: { scriptFetchedMs: number | undefined; reportedMs: number };
}

export class VmError extends Error {
  constructor(
    readonly kind: 'timeout' | 'script-timeout' | 'no-report',
    message: string,
    readonly console: string,
    readonly scriptStarted: boolean,
    /** The killed qemu's pid, so a test can check it is gone. */
    readonly qemuPid: number | undefined,
    /** What the guest asked the harness's server for, in order. */
    readonly requests: readonly string[],
    /** With keepDisks, the disks survive a failure too (the caller removes `dir`). */
    readonly disks: readonly string[] = [],
    readonly dir: string | undefined = undefined,
  ) {
    super(message);
    this.name = 'VmError';
  }
}

const MiB = 1024 * 1024;
export const diskSerial = (i: number) => `disk-${String.fromCharCode(97 + i)}`;

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

export async function bootVm(opts: BootVmOptions): Promise<VmResult> {
  const image = opts.image ?? (await ensureTestImage());
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pxm-vm-'));
  const consolePath = path.join(dir, 'console.log');
  const disks: string[] = [];
  const delivery = opts.delivery ?? 'unit';
  const texts: Record<string, string> = { '/script': opts.script };
  // A snapshot: other test runs may rebuild dist/pxm.cjs while this guest boots.
  const bundle = path.join(dir, 'pxm.cjs');
  await copyFile(opts.bundle ?? bundlePath, bundle);
  const bundleSha256 = createHash('sha256')
    .update(await readFile(bundle))
    .digest('hex');
  const server = await startVmServer({
    files: {
      '/root.squashfs': image.squashfs,
      '/vmlinuz': image.vmlinuz,
      '/initrd.img': image.initrd,
      '/pxm.cjs': bundle,
    },
    texts,
  });
  let qemu: ReturnType<typeof execa> | undefined;
  const readConsole = () => readFile(consolePath, 'utf8').catch(() => '');
  try {
    for (const [i, d] of (opts.disks ?? []).entries()) {
      const file = path.join(dir, `${diskSerial(i)}.raw`);
      const fh = await open(file, 'w');
      await fh.truncate(d.sizeMiB * MiB); // sparse
      await fh.close();
      disks.push(file);
    }
    const base = `http://10.0.2.2:${server.port}/`;
    const append = [
      'boot=live',
      `fetch=${base}root.squashfs`,
      'console=ttyS0,115200',
      'panic=-1',
      ...(delivery === 'unit'
        ? // cloud-init is not needed then; disabling its generator saves boot time.
          [`pxm.harness=${base}`, 'cloud-init=disabled']
        : [`ds=nocloud-net;s=${base}seed/`]),
    ].join(' ');
    if (delivery === 'cloud-init') {
      texts['/seed/meta-data'] = 'instance-id: pxm-vm\nlocal-hostname: pxm-vm\n';
      texts['/seed/user-data'] =
        `#cloud-config\nruncmd:\n  - [/usr/local/lib/pxm/harness-run, "${base}"]\n`;
      // Served empty: a 404 is retried ten times (~11 s).
      texts['/seed/vendor-data'] = '';
    }
    let bootArgs: string[];
    if (opts.boot === 'pxe') {
      const tftp = path.join(dir, 'tftp');
      await mkdir(tftp);
      await writeFile(
        path.join(tftp, 'pxm.ipxe'),
        // iPXE's HTTP can time out when the host is starved: retry instead of falling
        // through to "no bootable device" and a reboot (which ends qemu: -no-reboot).
        [
          '#!ipxe',
          ':retry',
          `kernel ${base}vmlinuz ${append} || goto again`,
          `initrd ${base}initrd.img || goto again`,
          'boot || goto again',
          ':again',
          'echo pxm: download failed, retrying',
          'sleep 2',
          'goto retry',
          '',
        ].join('\n'),
      );
      bootArgs = [
        '-netdev',
        `user,id=n0,tftp=${tftp},bootfile=pxm.ipxe`,
        '-device',
        'virtio-net-pci,netdev=n0,bootindex=0',
      ];
    } else {
      bootArgs = [
        '-kernel',
        image.vmlinuz,
        '-initrd',
        image.initrd,
        '-append',
        append,
        '-netdev',
        'user,id=n0',
        '-device',
        'virtio-net-pci,netdev=n0',
      ];
    }
    const args = [
      '-accel',
      'tcg',
      '-smp',
      '1',
      '-m',
      String(opts.memoryMiB ?? 2048),
      '-machine',
      'pc',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      `file:${consolePath}`,
      ...bootArgs,
      ...disks.flatMap((file, i) => [
        '-drive',
        `file=${file},format=raw,if=none,id=d${i},cache=unsafe`,
        '-device',
        `virtio-blk-pci,drive=d${i},serial=${diskSerial(i)}`,
      ]),
    ];
    const started = Date.now();
    qemu = execa('qemu-system-x86_64', args, { reject: false, stdin: 'ignore', all: true });
    const exited = qemu.then((r) => ({ exited: true as const, r }));
    const reported = server.result.then((r) => ({ exited: false as const, r }));

    // Poll for the two deadlines; a resolved race wins first.
    let outcome:
      Awaited<typeof exited> | Awaited<typeof reported> | 'timeout' | 'script-timeout' | undefined;
    while (!outcome) {
      const tick = new Promise<'tick'>((resolve) => setTimeout(() => resolve('tick'), 1000));
      const first = await Promise.race([exited, reported, tick]);
      if (first !== 'tick') outcome = first;
      else if (Date.now() - started > timeoutMs) outcome = 'timeout';
      else {
        const at = server.scriptFetchedAt();
        if (
          opts.scriptTimeoutMs !== undefined &&
          at !== undefined &&
          Date.now() - started - at > opts.scriptTimeoutMs
        )
          outcome = 'script-timeout';
      }
    }
    const fetchedAt = server.scriptFetchedAt();
    if (outcome === 'timeout' || outcome === 'script-timeout') {
      qemu.kill('SIGKILL');
      await qemu;
      const con = await readConsole();
      const what =
        outcome === 'timeout'
          ? `the VM did not report within ${timeoutMs / 1000} s`
          : `the script did not finish within ${(opts.scriptTimeoutMs ?? 0) / 1000} s`;
      throw new VmError(
        outcome,
        `${what} and was killed (${fetchedAt === undefined ? 'the script was never fetched' : 'the script had started'}); console tail:\n${tail(con)}`,
        con,
        fetchedAt !== undefined,
        qemu.pid,
        [...server.requests],
        opts.keepDisks ? disks : [],
        opts.keepDisks ? dir : undefined,
      );
    }
    if (outcome.exited) {
      const con = await readConsole();
      throw new VmError(
        'no-report',
        `qemu exited (status ${outcome.r.exitCode}) before the guest reported a result: ${String(outcome.r.all).trim()}\nconsole tail:\n${tail(con)}`,
        con,
        fetchedAt !== undefined,
        qemu.pid,
        [...server.requests],
        opts.keepDisks ? disks : [],
        opts.keepDisks ? dir : undefined,
      );
    }
    const reportedMs = Date.now() - started;
    // The guest syncs and powers off right after reporting; wait so the disks are final.
    const done = await Promise.race([
      exited,
      new Promise<'slow'>((r) => setTimeout(() => r('slow'), 30_000)),
    ]);
    if (done === 'slow') qemu.kill('SIGKILL');
    await qemu;
    return {
      exitCode: outcome.r.exitCode,
      output: outcome.r.output,
      console: await readConsole(),
      disks,
      dir,
      requests: [...server.requests],
      bundleSha256,
      timings: { scriptFetchedMs: fetchedAt, reportedMs },
    };
  } finally {
    if (qemu && qemu.exitCode === null && !qemu.killed) {
      qemu.kill('SIGKILL');
      await qemu;
    }
    await server.close();
    // keepDisks keeps them on failure too: a failed install is what one wants to inspect.
    if (opts.keepDisks && disks.length > 0) {
      for (const f of [consolePath, bundle, path.join(dir, 'tftp')])
        await rm(f, { recursive: true, force: true });
    } else await rm(dir, { recursive: true, force: true });
  }
}

/** One boot, several scenarios: each runs in its own `bash -e` and is reported apart. */
export interface Scenario {
  name: string;
  script: string;
}

export interface ScenarioResult {
  exitCode: number;
  output: string;
}

export function scenarioScript(scenarios: readonly Scenario[]): string {
  const parts = ['set +e'];
  for (const [i, s] of scenarios.entries()) {
    if (!/^[\w.-]+$/.test(s.name))
      throw new Error(`scenario name "${s.name}": use letters, digits, . _ -`);
    const file = `/run/pxm-harness/scenario-${i}.sh`;
    parts.push(
      `cat > ${file} <<'PXM_SCENARIO_EOF'\n${s.script}\nPXM_SCENARIO_EOF`,
      `echo "@@pxm-scenario-begin ${s.name}"`,
      `bash -e ${file} 2>&1 < /dev/null`,
      `echo "@@pxm-scenario-end ${s.name} $?"`,
    );
  }
  return `${parts.join('\n')}\n`;
}

/** Splits a scenario script's output by scenario; a scenario with no end marker is missing. */
export function parseScenarios(output: string): Record<string, ScenarioResult> {
  const out: Record<string, ScenarioResult> = {};
  const re = /^@@pxm-scenario-begin (\S+)\n([\s\S]*?)^@@pxm-scenario-end \1 (\d+)$/gm;
  for (const m of output.matchAll(re)) {
    if (m[1] && m[3]) out[m[1]] = { exitCode: Number(m[3]), output: m[2] ?? '' };
  }
  return out;
}
