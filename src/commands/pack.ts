// `pxm pack`: writes a self-extracting installer (src/pack, docs/pack.md).
import { Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import { ValidationError } from '../util/errors.js';

/** Marks `--with-node` given without a PATH (oclif has no optional flag values). */
const RUNNING_NODE = '\0running-node';

/**
 * Splits argv at the first `--` (everything after is COMMAND) and turns a bare
 * `--with-node` (followed by nothing, `--` or another flag) into one with a sentinel value.
 */
export function splitPackArgv(argv: readonly string[]): { flags: string[]; command: string[] } {
  const dd = argv.indexOf('--');
  const before = dd === -1 ? [...argv] : argv.slice(0, dd);
  const command = dd === -1 ? [] : argv.slice(dd + 1);
  const flags: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const a = before[i] as string;
    const next = before[i + 1];
    if (a === '--with-node' && (next === undefined || next.startsWith('-')))
      flags.push(`--with-node=${RUNNING_NODE}`);
    else flags.push(a);
  }
  return { flags, command };
}

export default class Pack extends PxmCommand {
  static override description =
    'Write a self-extracting POSIX sh installer: the pxm bundle, configs and files, optionally a Node runtime';

  static override usage =
    'pack -o FILE [--config FILE ...] [--add SRC:DEST ...] [--with-node [PATH]] [-- COMMAND ...]';

  static override examples = [
    '<%= config.bin %> pack -o install.sh --config base.yaml --config storage.yaml',
    '<%= config.bin %> pack -o install.sh --with-node --config base.yaml',
    '<%= config.bin %> pack -o run.sh --add ./root.tgz:root.tgz -- sh -c \'pxm install --target /mnt "$PXM_DIR/root.tgz"\'',
  ];

  static override flags = {
    output: Flags.string({
      char: 'o',
      required: true,
      description: 'installer file to write (mode 0755)',
    }),
    config: Flags.string({
      char: 'c',
      multiple: true,
      description:
        'config for the default command `pxm install --config ...` (repeatable, in order)',
    }),
    add: Flags.string({
      multiple: true,
      description: 'add SRC (file or directory) as DEST in the unpacked directory ($PXM_DIR/DEST)',
    }),
    'with-node': Flags.string({
      description:
        'embed a Node runtime: the running node, or PATH (stripped, then xz- or gzip-compressed)',
      helpValue: '[PATH]',
    }),
    'node-compression': Flags.string({
      options: ['auto', 'xz', 'gzip'],
      default: 'auto',
      description: 'runtime compression; auto = xz when xz is installed here, gzip otherwise',
    }),
    strip: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'strip the embedded runtime when `strip` exists',
    }),
    timestamp: Flags.boolean({
      default: false,
      description: 'record the creation time (output is then not reproducible)',
    }),
  };

  async run(): Promise<void> {
    // Loaded here, not at the top: importing the command table must stay cheap (start-up time).
    const { parseAddFlag, writeInstaller } = await import('../pack/index.js');
    const { flags: argv, command } = splitPackArgv(this.argv);
    const { flags } = await this.parse(Pack, argv);
    const withNode = flags['with-node'];
    if (withNode === '') throw new ValidationError('--with-node', 'empty PATH');
    const summary = await writeInstaller(flags.output, {
      configs: flags.config ?? [],
      add: (flags.add ?? []).map(parseAddFlag),
      command,
      withNode: withNode === undefined ? false : withNode === RUNNING_NODE ? true : withNode,
      nodeCompression: flags['node-compression'] as 'auto' | 'xz' | 'gzip',
      strip: flags.strip,
      timestamp: flags.timestamp,
    });
    const rt = summary.runtime
      ? `, node ${summary.runtime.version} ${summary.runtime.compression}${summary.runtime.cached ? ' (cached)' : ''}`
      : ', no runtime';
    this.log(
      `wrote ${flags.output} (${summary.bytes} bytes${rt}; payload sha256 ${summary.payloadSha256})`,
    );
  }
}
