// The environment every stage command gets (curtin's contract).
import type { ConfigMap } from '../config/merge.js';
import type { WorkingPaths } from './context.js';

/**
 * WORKING_DIR, OUTPUT_FSTAB, OUTPUT_INTERFACES, OUTPUT_NETWORK_CONFIG, OUTPUT_NETWORK_STATE,
 * TARGET_MOUNT_POINT, CONFIG, proxy variables, and PATH with the shims first.
 * CONFIG is the path of a file holding the merged config as JSON: what curtin does
 * (curtin/commands/install.py WorkingDir), so `json.load(open(os.environ['CONFIG']))`
 * in existing hook scripts keeps working. CURTIN_REPORTSTACK is set per command.
 */
export function contractEnv(
  paths: WorkingPaths,
  target: string,
  config: ConfigMap,
  basePath = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
): Record<string, string> {
  return {
    WORKING_DIR: paths.workingDir,
    OUTPUT_FSTAB: paths.fstab,
    OUTPUT_INTERFACES: paths.interfaces,
    OUTPUT_NETWORK_CONFIG: paths.networkConfig,
    OUTPUT_NETWORK_STATE: paths.networkState,
    TARGET_MOUNT_POINT: target,
    CONFIG: paths.configFile,
    PATH: `${paths.bin}:${basePath}`,
    ...proxyEnv(config),
  };
}

/** `proxy: {http_proxy, https_proxy, no_proxy}` (and the legacy top-level `http_proxy`), in both cases. */
export function proxyEnv(config: ConfigMap): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (k: string, v: unknown): void => {
    if (typeof v !== 'string' || !v) return;
    out[k] = v;
    out[k.toUpperCase()] = v;
  };
  set('http_proxy', config.http_proxy);
  const proxy = config.proxy;
  if (proxy && typeof proxy === 'object') {
    for (const k of ['http_proxy', 'https_proxy', 'no_proxy'])
      set(k, (proxy as Record<string, unknown>)[k]);
  }
  return out;
}
