import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { repoRoot } from '../helpers/pxm.js';
import {
  addCmdlineSources,
  loadConfig,
  orderedConfigInputs,
  parseConfigText,
  parseSetArg,
} from '../../src/config/load.js';
import { mergeInto, sourceOf, type Provenance } from '../../src/config/merge.js';
import { validateConfig, ConfigValidationError } from '../../src/config/validate.js';

const fx = (name: string) => path.join(repoRoot, 'test/fixtures/config', name);

describe('curtin merge of multiple config files', () => {
  it('merges mappings recursively and replaces everything else, in file order', async () => {
    const { config } = await loadConfig([
      { kind: 'file', path: fx('10-maas-base.yaml') },
      { kind: 'file', path: fx('20-site.yaml') },
    ]);
    const early = config.early_commands as Record<string, unknown>;
    expect(Object.keys(early).sort()).toEqual(['10_first', '20_skipped_later', '9_second']);
    expect(early['20_skipped_later']).toBeNull();
    // A list replaces a list whole.
    expect((config.late_commands as Record<string, unknown>).maas).toEqual(['echo', 'site-late']);
    // Anchors resolve; the bucket key is kept (unknown keys are allowed).
    expect((config.late_commands as Record<string, unknown>).zz_anchor).toBe('echo base');
    expect(config.proxy).toEqual({
      http_proxy: 'http://proxy.example:3128/',
      https_proxy: 'http://secure-proxy.example:3128/',
    });
    // Nested mapping merge: path and permissions from base, content from site.
    expect((config.write_files as Record<string, unknown>).a).toEqual({
      path: '/etc/a',
      content: 'from site',
      permissions: 0o644, // YAML 1.1 like PyYAML: 0644 is octal
    });
    // Built-in defaults are still under everything.
    expect((config.extract_commands as Record<string, unknown>).builtin).toEqual([
      'curtin',
      'extract',
    ]);
  });

  it('applies --config and --set in command-line order', async () => {
    const argv = [
      '--set',
      'late_commands/maas=first',
      '-c',
      fx('10-maas-base.yaml'),
      '--set=late_commands/x=y',
    ];
    const inputs = orderedConfigInputs(argv);
    expect(inputs.map((i) => i.kind)).toEqual(['set', 'file', 'set']);
    const { config } = await loadConfig(inputs);
    // The file came after the first --set and replaced its value.
    expect((config.late_commands as Record<string, unknown>).maas).toEqual(['echo', 'base-late']);
    expect((config.late_commands as Record<string, unknown>).x).toBe('y');
  });

  it('--set sets strings; json: parses; json:= merges at the top', () => {
    expect(parseSetArg('install/unmount=disabled')).toEqual({ install: { unmount: 'disabled' } });
    expect(parseSetArg('a/b=1=2')).toEqual({ a: { b: '1=2' } });
    expect(parseSetArg('json:stages=["early","late"]')).toEqual({ stages: ['early', 'late'] });
    expect(parseSetArg('json:={"k":{"v":1}}')).toEqual({ k: { v: 1 } });
    expect(() => parseSetArg('novalue')).toThrow(/--set novalue: expected KEY=VALUE/);
    expect(() => parseSetArg('json:a={bad')).toThrow(/--set json:a=\{bad: invalid JSON/);
  });

  it('command-line sources become sources: {NN_cmdline}', () => {
    const prov: Provenance = new Map();
    const config: Record<string, unknown> = { sources: { '05_primary': 'http://x/root.tgz' } };
    addCmdlineSources(config, ['/a.tar', 'cp:///srv'], prov);
    expect(config.sources).toEqual({
      '05_primary': 'http://x/root.tgz',
      '01_cmdline': '/a.tar',
      '02_cmdline': 'cp:///srv',
    });
  });

  it('a top level that is not a mapping is an error naming the file', async () => {
    await expect(loadConfig([{ kind: 'file', path: fx('bad-top.yaml') }])).rejects.toThrow(
      `${fx('bad-top.yaml')}: top level must be a mapping, found a list`,
    );
    expect(() => parseConfigText('a: [1,\n', 'x.yaml')).toThrow(/^x\.yaml: line \d+: invalid YAML/);
    await expect(loadConfig([{ kind: 'file', path: fx('missing.yaml') }])).rejects.toThrow(
      /missing\.yaml: cannot read config/,
    );
  });
});

describe('provenance and schema errors', () => {
  it('names the file that set the bad value, and its key path', async () => {
    const loaded = await loadConfig([
      { kind: 'file', path: fx('10-maas-base.yaml') },
      { kind: 'file', path: fx('bad-type.yaml') },
    ]);
    let err: unknown;
    try {
      validateConfig(loaded.config, loaded.provenance);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    const problems = (err as ConfigValidationError).problems;
    expect(problems).toEqual([
      // YAML 1.1 (curtin's PyYAML): `yes` is a boolean, not a string.
      `${fx('bad-type.yaml')}: late_commands/15_yaml_bool: expected a command: a list (argv), a string (shell) or null to skip, found a list whose item 1 is boolean true`,
      `${fx('bad-type.yaml')}: late_commands/20_bad: expected a command: a list (argv), a string (shell) or null to skip, found number 7`,
    ]);
    expect((err as ConfigValidationError).exitCode).toBe(2);
  });

  it('blames --set when --set put the value there, and reports every problem', async () => {
    const loaded = await loadConfig([
      { kind: 'file', path: fx('bad-reporting.yaml') },
      { kind: 'set', arg: 'json:stages=["early",3]' },
    ]);
    expect(() => validateConfig(loaded.config, loaded.provenance)).toThrow(ConfigValidationError);
    try {
      validateConfig(loaded.config, loaded.provenance);
    } catch (e) {
      expect((e as ConfigValidationError).problems).toEqual([
        `--set json:stages=["early",3]: stages/1: expected a string, found number 3`,
        `${fx('bad-reporting.yaml')}: reporting/maas: expected key "endpoint" (missing)`,
      ]);
    }
  });

  it('a later file that replaces a value takes over its provenance', () => {
    const prov: Provenance = new Map();
    const cfg = {};
    mergeInto(cfg, { a: { b: { c: 1 } } }, 'one.yaml', prov);
    mergeInto(cfg, { a: { b: 'x' } }, 'two.yaml', prov);
    expect(sourceOf(prov, 'a/b')).toBe('two.yaml');
    expect(prov.has('a/b/c')).toBe(false);
    mergeInto(cfg, { a: { d: 2 } }, 'three.yaml', prov);
    expect(sourceOf(prov, 'a/b')).toBe('two.yaml');
    expect(sourceOf(prov, 'a/d')).toBe('three.yaml');
  });

  it('accepts unknown top-level keys and the shapes curtin configs use', async () => {
    const loaded = await loadConfig([
      { kind: 'file', path: fx('10-maas-base.yaml') },
      { kind: 'file', path: fx('20-site.yaml') },
      { kind: 'set', arg: 'json:showtrace=true' },
    ]);
    expect(() => validateConfig(loaded.config, loaded.provenance)).not.toThrow();
  });
});
