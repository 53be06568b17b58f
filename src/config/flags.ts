// Flags shared by the commands that load an install config.
import { Flags } from '@oclif/core';

export const configFlags = {
  config: Flags.string({
    char: 'c',
    multiple: true,
    // `--set a=b SOURCE`: SOURCE is an argument, not a second value.
    multipleNonGreedy: true,
    description: 'curtin-style YAML config file (repeatable; merged in order with --set)',
  }),
  set: Flags.string({
    multiple: true,
    // `--set a=b SOURCE`: SOURCE is an argument, not a second value.
    multipleNonGreedy: true,
    description: 'set KEY/PATH=VALUE (string) or json:KEY/PATH=JSON, applied in command-line order',
  }),
};
