// In-process cost of buildInstaller(), what the server pays per node installer:
// no CLI start-up, configs given as objects. Prints one JSON line of medians (ms).
//
// Usage: npx tsx bench/pack/api.ts [RUNS]   (needs dist/pxm.cjs; a warm runtime cache)
import { buildInstaller } from '../../src/pack/index.js';

const runs = Number(process.argv[2] ?? 20);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function time(withNode: boolean): Promise<{ ms: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const config = {
      reporting: {
        maas: { type: 'webhook', endpoint: `http://10.0.0.1/MAAS/metadata/status/node${i}` },
      },
      sources: { '00': 'http://10.0.0.1/images/root.tar.xz' },
    };
    const t0 = process.hrtime.bigint();
    const out = await buildInstaller({
      configs: [{ name: `node${i}.yaml`, content: config }],
      withNode,
    });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    bytes = out.length;
  }
  return { ms: median(ms), bytes };
}

const plain = await time(false);
const runtime = await time(true);
console.log(
  JSON.stringify({
    runs,
    noRuntimeMs: plain.ms,
    noRuntimeBytes: plain.bytes,
    runtimeMs: runtime.ms,
    runtimeBytes: runtime.bytes,
  }),
);
