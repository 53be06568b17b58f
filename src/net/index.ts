// Public API of the network module (used by src/stages, src/hooks and pxm net-meta).
export { parseNetworkConfig, serializeNetworkConfig, type NetworkDoc } from './config.js';
export { NetworkConfigError, type Problem } from './problems.js';
export type { NetworkState, Interface, Subnet, Route } from './state.js';
export type { RenderedFile } from './rendered.js';
export { renderNetplan, netplanFromState, NETPLAN_PATH } from './render-netplan.js';
export { renderEni, ENI_PATH, ENI_D_PATH } from './render-eni.js';
export { renderNetworkd, NETWORKD_DIR, RESOLVED_DROPIN } from './render-networkd.js';
export { renderPinning, UDEV_RULES_PATH, type PinningFormat } from './render-pinning.js';
export {
  chooseRenderer,
  targetHasCloudInit,
  cloudInitPassthrough,
  renderWith,
  planTargetNetwork,
  existsInTarget,
  resolveInTarget,
  CLOUD_INIT_NET_CFG,
  type RendererName,
  type TargetNetworkPlan,
} from './target.js';
export { discoverNics, dhcpConfigFor, pickDhcpNics, type Nic, type NicKind } from './discover.js';
export {
  runNetworkStage,
  planNetworkStage,
  type NetworkStageOptions,
  type NetworkStageResult,
  type NetMetaMode,
} from './stage.js';
export { netModule, parseNetMetaArgs } from './module.js';
export { loadNetworkConfigFile, writeRenderedFiles } from './apply.js';
