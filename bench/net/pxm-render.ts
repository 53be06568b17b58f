// Bench helper: `node pxm-render.cjs CONFIG.yaml OUTDIR [eni|netplan|networkd]` parses a
// network config and writes the rendered files under OUTDIR, as `cloud-init devel
// net-convert` does; `node pxm-render.cjs --loop N CONFIG.yaml` times N in-process
// parse+ENI renders and prints ms per render.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseNetworkConfig } from '../../src/net/config.js';
import { renderEni } from '../../src/net/render-eni.js';
import { renderWith, type RendererName } from '../../src/net/target.js';

const args = process.argv.slice(2);
if (args[0] === '--loop') {
  const n = Number(args[1]);
  const cfg = parse(readFileSync(args[2]!, 'utf8'));
  const t = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const doc = parseNetworkConfig(cfg);
    if (doc.kind !== 'disabled')
      bytes += renderEni(doc.state).reduce((a, f) => a + f.content.length, 0);
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6 / n;
  process.stdout.write(`${ms} ${bytes}\n`);
} else {
  const [file, out, renderer = 'eni'] = args;
  const doc = parseNetworkConfig(parse(readFileSync(file!, 'utf8')));
  if (doc.kind !== 'disabled') {
    for (const f of renderWith(renderer as RendererName, doc)) {
      mkdirSync(path.dirname(path.join(out!, f.path)), { recursive: true });
      writeFileSync(path.join(out!, f.path), f.content, { mode: f.mode });
    }
  }
}
