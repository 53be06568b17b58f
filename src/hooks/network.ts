// network and pinning: the network stage's OUTPUT_NETWORK_CONFIG rendered for what the
// target has (netplan, ifupdown or systemd-networkd; see src/net/target.ts), plus the
// cloud-init pass-through when the target has cloud-init. MAC-to-name pinning (udev
// rules for ifupdown/networkd; netplan pins by itself) is its own module, next.
import {
  chooseRenderer,
  loadNetworkConfigFile,
  planTargetNetwork,
  renderPinning,
  writeRenderedFiles,
  type NetworkDoc,
  type RenderedFile,
} from '../net/index.js';
import type { HookModule } from './types.js';

/** The pinning files renderWith() adds to a renderer's output (same arguments). */
export async function pinningFiles(target: string, doc: NetworkDoc): Promise<RenderedFile[]> {
  if (doc.kind === 'disabled') return [];
  const renderer = await chooseRenderer(target);
  if (renderer === 'netplan') return [];
  return renderPinning(doc.state, ['udev'], renderer === 'eni');
}

export const networkHook: HookModule = {
  name: 'network',
  description: 'rendering the network config for the target',
  keys: ['network'],
  async run(ctx) {
    const doc = await loadNetworkConfigFile(ctx.paths.networkConfig);
    if (!doc) {
      ctx.log('network: no OUTPUT_NETWORK_CONFIG; network left as the image has it');
      return;
    }
    const plan = await planTargetNetwork(ctx.target, doc);
    for (const w of plan.warnings) ctx.log(`network: warning: ${w}`);
    const pins = new Set((await pinningFiles(ctx.target, doc)).map((f) => f.path));
    ctx.log(`network: renderer ${plan.renderer}${plan.cloudInit ? ' + cloud-init' : ''}`);
    await writeRenderedFiles(
      ctx.runner,
      ctx.target,
      plan.files.filter((f) => !pins.has(f.path)),
    );
  },
};

export const pinningHook: HookModule = {
  name: 'pinning',
  description: 'pinning interface names to MAC addresses',
  keys: ['network'],
  async run(ctx) {
    const doc = await loadNetworkConfigFile(ctx.paths.networkConfig);
    if (!doc) return;
    const files = await pinningFiles(ctx.target, doc);
    if (!files.length) ctx.log('pinning: nothing to pin (or netplan pins names itself)');
    await writeRenderedFiles(ctx.runner, ctx.target, files);
  },
};
