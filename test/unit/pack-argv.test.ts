// `pxm pack` argv handling: COMMAND after `--`, and `--with-node` with or without PATH.
import { describe, expect, it } from 'vitest';
import { splitPackArgv } from '../../src/commands/pack.js';

describe('splitPackArgv', () => {
  it('takes everything after the first -- as COMMAND, verbatim', () => {
    expect(splitPackArgv(['-o', 'f', '--', 'sh', '-c', 'x -- y', '--'])).toEqual({
      flags: ['-o', 'f'],
      command: ['sh', '-c', 'x -- y', '--'],
    });
  });

  it('gives a bare --with-node the running-node sentinel, keeps an explicit PATH', () => {
    const bare = splitPackArgv(['-o', 'f', '--with-node', '--config', 'c.yaml']).flags;
    expect(bare[2]).toMatch(/^--with-node=\0/);
    expect(bare.slice(3)).toEqual(['--config', 'c.yaml']);
    expect(splitPackArgv(['--with-node']).flags[0]).toMatch(/^--with-node=\0/);
    expect(splitPackArgv(['--with-node', '--', 'true']).flags[0]).toMatch(/^--with-node=\0/);
    expect(splitPackArgv(['--with-node', '/opt/node/bin/node']).flags).toEqual([
      '--with-node',
      '/opt/node/bin/node',
    ]);
  });
});
