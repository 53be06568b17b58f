// `pxm block-meta [custom|simple]`: curtin's partitioning step on its own. Reads the
// storage config (every --config FILE merged in order, or $CONFIG as curtin passes it),
// validates it completely against the discovered disks, then plans and executes it.
// `--dry-run` prints the plan without touching anything.
import { Args, Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PxmCommand } from '../cli/base-command.js';
import { PxmError, ValidationError, errorMessage } from '../util/errors.js';

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** curtin's merge: mappings merge recursively, anything else replaces. */
function merge(a: Mapping, b: Mapping): Mapping {
  const out: Mapping = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    out[k] = isMapping(old) && isMapping(v) ? merge(old, v) : v;
  }
  return out;
}

async function loadFile(file: string): Promise<Mapping> {
  // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
  const { parse } = await import('yaml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ValidationError(file, `cannot read: ${errorMessage(error)}`);
  }
  let value: unknown;
  try {
    value = parse(text, { version: '1.1', merge: true });
  } catch (error) {
    throw new ValidationError(file, `invalid YAML: ${errorMessage(error).split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) throw new ValidationError(file, 'top level must be a mapping');
  return value;
}

export default class BlockMeta extends PxmCommand {
  static override description =
    'Partition, format and mount disks from a curtin storage config (curtin block-meta)';

  static override examples = [
    '<%= config.bin %> block-meta custom --config storage.yaml --target /target --dry-run',
    '<%= config.bin %> block-meta simple --device /dev/vda --target /target',
  ];

  static override args = {
    mode: Args.string({
      description: 'custom (the storage: config) or simple (layout on --device)',
      options: ['custom', 'simple'],
      default: 'custom',
    }),
  };

  static override flags = {
    config: Flags.string({
      char: 'c',
      description: 'config file (repeatable; merged in order). Default: $CONFIG',
      multiple: true,
    }),
    target: Flags.string({
      char: 't',
      description: 'mount filesystems under this directory. Default: $TARGET_MOUNT_POINT',
    }),
    fstab: Flags.string({ description: 'write fstab here. Default: $OUTPUT_FSTAB' }),
    device: Flags.string({ description: 'simple mode: the disk to install on' }),
    layout: Flags.string({
      description: 'simple mode: layout name (simple or lvm)',
      default: 'simple',
    }),
    'dry-run': Flags.boolean({ description: 'print the plan, change nothing' }),
    json: Flags.boolean({ description: 'print the plan (or result) as JSON' }),
    umount: Flags.boolean({ description: 'unmount everything again when done (fstab is kept)' }),
    // Accepted for curtin compatibility; pxm has one code path.
    'force-mode': Flags.boolean({ hidden: true }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { Runner, formatStep } = await import('../runner/runner.js');
    const { discoverBlockDevices, planStorage, releaseStorage, resolveDiskPaths, tablesWanted } =
      await import('../storage/index.js');
    const { executePlan } = await import('../storage/execute.js');
    const { args, flags } = await this.parse(BlockMeta);
    const config = await this.loadConfig(flags.config);
    let storage: unknown = config.storage;
    if (args.mode === 'simple') {
      const layout = isMapping(storage) && isMapping(storage.layout) ? storage.layout : undefined;
      const disk = flags.device ?? (typeof layout?.disk === 'string' ? layout.disk : undefined);
      storage = { layout: { name: flags.layout ?? layout?.name ?? 'simple', disk } };
    } else if (storage === undefined) {
      throw new ValidationError(
        'storage',
        'no storage: config given (use --config FILE or block-meta simple --device DEV)',
      );
    }
    const target = flags.target ?? process.env.TARGET_MOUNT_POINT;
    const fstabPath = flags.fstab ?? process.env.OUTPUT_FSTAB;

    const runner = new Runner({
      dryRun: flags['dry-run'],
      output: { write: (chunk) => process.stderr.write(chunk) },
      onStep: flags.json ? undefined : (s) => process.stdout.write(`${formatStep(s)}\n`),
    });
    const realpaths = await resolveDiskPaths(storage);
    const devices = await discoverBlockDevices(runner, {
      tablesFor: tablesWanted(storage, realpaths),
    });
    const plan = planStorage(storage, { devices, realpaths }, { target, fstabPath });
    const made = await executePlan(plan, { runner });
    let left: string[] = [];
    if (flags.umount && !runner.dryRun) left = await releaseStorage(runner, made);
    if (flags.json) {
      this.log(
        JSON.stringify(
          { dryRun: runner.dryRun, volumes: plan.volumes, steps: runner.plan, leftBehind: left },
          null,
          2,
        ),
      );
    }
    if (left.length) throw new PxmError(`block-meta --umount: could not undo: ${left.join('; ')}`);
  }

  private async loadConfig(files: string[] | undefined): Promise<Mapping> {
    if (files?.length) {
      let out: Mapping = {};
      for (const f of files) out = merge(out, await loadFile(f));
      return out;
    }
    const env = process.env.CONFIG;
    if (env === undefined || env === '') return {};
    // curtin passes a path; pxm's engine may pass the merged config itself as JSON.
    if (existsSync(env)) return loadFile(env);
    try {
      const v: unknown = JSON.parse(env);
      if (isMapping(v)) return v;
    } catch {
      // fall through
    }
    throw new ValidationError('CONFIG', 'is neither a readable file nor a JSON mapping');
  }
}
