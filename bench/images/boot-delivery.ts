// Boot-to-script time of the VM harness: the baked systemd unit (pxm.harness= on the
// kernel command line, cloud-init disabled) against cloud-init's NoCloud runcmd (the
// stock path). Alternates the two, reports medians; both boot the same cached image.
//
//   npx tsx bench/images/boot-delivery.ts [runs-per-variant=3]
import { bootVm } from '../../test/helpers/vm.js';
import { ensureTestImage } from '../../test/helpers/vm-image.js';

const runs = Number(process.argv[2] ?? 3);
const image = await ensureTestImage();
const results: Record<'unit' | 'cloud-init', { fetched: number; reported: number }[]> = {
  unit: [],
  'cloud-init': [],
};
for (let i = 0; i < runs; i++) {
  for (const delivery of ['unit', 'cloud-init'] as const) {
    const r = await bootVm({ image, delivery, script: 'cat /proc/uptime', timeoutMs: 900_000 });
    if (r.exitCode !== 0) throw new Error(`${delivery}: script failed: ${r.output}`);
    results[delivery].push({
      fetched: (r.timings.scriptFetchedMs ?? NaN) / 1000,
      reported: r.timings.reportedMs / 1000,
    });
    console.log(
      `${delivery} run ${i + 1}: script fetched ${results[delivery].at(-1)?.fetched.toFixed(1)} s, reported ${results[delivery].at(-1)?.reported.toFixed(1)} s`,
    );
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
for (const [k, v] of Object.entries(results))
  console.log(
    `${k}: median qemu start → script fetched ${median(v.map((x) => x.fetched)).toFixed(1)} s, → result ${median(v.map((x) => x.reported)).toFixed(1)} s (n=${v.length})`,
  );
const ratio =
  median(results['cloud-init'].map((x) => x.reported)) /
  median(results.unit.map((x) => x.reported));
console.log(`cloud-init / unit (time to result): ${ratio.toFixed(2)}`);
