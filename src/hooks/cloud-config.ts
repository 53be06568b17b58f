// cloud-config: curtin's `cloudconfig:` entries become files in the target's
// /etc/cloud/cloud.cfg.d/, which is how MAAS hands the installed OS its datasource (the
// MAAS metadata URL and OAuth tokens of pxm server). Forms accepted, as curtin:
//   cloudconfig: {NAME: {content: TEXT, path?: FILE}}  or a list of {content, path?}.
import path from 'node:path';
import { ValidationError } from '../util/errors.js';
import type { HookModule } from './types.js';
import { mapping, writeTargetFile } from './target-files.js';

export const CLOUD_CFG_D = '/etc/cloud/cloud.cfg.d';

export function planCloudConfig(v: unknown): { path: string; content: string }[] {
  if (v === undefined || v === null) return [];
  const entries: [string, unknown][] = Array.isArray(v)
    ? v.map((e, i) => [`${String(i).padStart(2, '0')}_pxm`, e])
    : Object.entries(mapping(v) ?? fail('cloudconfig', 'must be a mapping or a list'));
  return entries.map(([name, e], i) => {
    const where = Array.isArray(v) ? `cloudconfig[${i}]` : `cloudconfig/${name}`;
    const m = mapping(e) ?? fail(where, 'must be a mapping {content, path?}');
    if (typeof m.content !== 'string') fail(`${where}/content`, 'must be a string');
    let file = `${CLOUD_CFG_D}/${name.endsWith('.cfg') ? name : `${name}.cfg`}`;
    if (m.path !== undefined) {
      if (typeof m.path !== 'string') fail(`${where}/path`, 'must be a string');
      // A relative path is relative to cloud.cfg.d; nothing may leave it.
      file = path.posix.normalize(path.posix.join(CLOUD_CFG_D, m.path.replace(/^\/+/, '')));
      if (path.isAbsolute(m.path)) file = path.posix.normalize(m.path);
      if (!file.startsWith(`${CLOUD_CFG_D}/`))
        fail(`${where}/path`, `must be inside ${CLOUD_CFG_D}`);
    }
    if (!/^[A-Za-z0-9._/-]+$/.test(file)) fail(where, 'name must be a plain file name');
    return { path: file, content: m.content as string };
  });
}

function fail(where: string, problem: string): never {
  throw new ValidationError(where, problem);
}

export const cloudConfigHook: HookModule = {
  name: 'cloud-config',
  description: 'writing cloud-init config (datasource) for the installed system',
  keys: ['cloudconfig'],
  validate: (config) => void planCloudConfig(config.cloudconfig),
  async run(ctx) {
    const files = planCloudConfig(ctx.config.cloudconfig);
    if (!files.length) ctx.log('cloud-config: no cloudconfig: entries');
    for (const f of files)
      await writeTargetFile(ctx.runner, ctx.target, f.path, f.content, {
        mode: 0o600, // MAAS datasource config carries OAuth tokens
        description: 'cloud-init config',
      });
  },
};
