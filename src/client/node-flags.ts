// Typed flags for a node's fields (`pxm nodes add` and `edit`), turned into API input.
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { ValidationError } from '../util/errors.js';

export const nodeFieldFlags = {
  hostname: Flags.string({ description: 'host name (one DNS label)' }),
  domain: Flags.string({ description: 'DNS domain' }),
  mac: Flags.string({
    description: 'MAC address (repeatable; replaces the list on edit)',
    multiple: true,
  }),
  arch: Flags.string({ description: 'architecture, e.g. amd64/generic' }),
  ip: Flags.string({
    description:
      "the node's address (trusted for EC2/NoCloud metadata and preseeds); 'none' clears",
  }),
  'power-type': Flags.string({ description: 'power driver name (manual, ipmi, ...)' }),
  'power-param': Flags.string({
    description: 'power parameter NAME=VALUE (repeatable)',
    multiple: true,
  }),
  'ssh-key-file': Flags.string({
    description: 'file of OpenSSH public keys, one a line (repeatable)',
    multiple: true,
  }),
};

interface FieldFlags {
  hostname?: string;
  domain?: string;
  mac?: string[];
  arch?: string;
  ip?: string;
  'power-type'?: string;
  'power-param'?: string[];
  'ssh-key-file'?: string[];
}

export function nodeInputFromFlags(f: FieldFlags): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (f.hostname !== undefined) input.hostname = f.hostname;
  if (f.domain !== undefined) input.domain = f.domain;
  if (f.mac !== undefined) input.macs = f.mac;
  if (f.arch !== undefined) input.architecture = f.arch;
  if (f.ip !== undefined) input.ip = f.ip === 'none' ? null : f.ip;
  if (f['power-type'] !== undefined) input.powerType = f['power-type'];
  if (f['power-param'] !== undefined) {
    const params: Record<string, string> = {};
    for (const p of f['power-param']) {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new ValidationError(`--power-param ${p}`, 'expected NAME=VALUE');
      params[p.slice(0, eq)] = p.slice(eq + 1);
    }
    input.powerParameters = params;
  }
  if (f['ssh-key-file'] !== undefined) {
    input.sshKeys = f['ssh-key-file'].flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ValidationError(file, `cannot read: ${(e as Error).message}`);
      }
      return text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
    });
  }
  return input;
}
