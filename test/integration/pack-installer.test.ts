// `pxm pack` end to end: pack with the built bundle, then run the installer with
// `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin` from an empty directory, under dash,
// /bin/sh and busybox sh.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, capable, haveCommand } from '../helpers/capability.js';
import { execa } from 'execa';
import { copyFileSync } from 'node:fs';
import { bundlePath } from '../helpers/pxm.js';
import { buildInstaller } from '../../src/pack/index.js';
import { SHELLS, SYSTEM_PATH, commandV, runInstaller, toolFarm } from './pack-harness.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'pxm-pack-it-'));
const empty = path.join(work, 'empty'); // cwd of every run: nothing beside the installer
const tmp = path.join(work, 'tmp'); // TMPDIR of the runs, to see what they leave behind
const marker = path.join(work, 'MARKER');
const argsFile = path.join(work, 'args');
const installer = path.join(work, 'installer.sh');
const config = path.join(work, 'site.yaml');
// A private copy of the built bundle: other test runs in a shared tree may rebuild
// dist/pxm.cjs meanwhile. Running the copy also shows that a bundle packs itself.
const bundle = path.join(work, 'pxm-under-test.cjs');
copyFileSync(bundlePath, bundle);
// Without vitest's NODE_ENV=test: with it, oclif outside the repo looks for TypeScript
// and warns on stderr (reported; not a pack matter).
const { NODE_ENV: _vitestNodeEnv, ...cliEnv } = process.env;
function pxm(args: string[]) {
  return execa(process.execPath, [bundle, ...args], {
    reject: false,
    env: cliEnv,
    extendEnv: false,
  });
}
// The packed command: leaves a marker, records its arguments and $PXM_DIR, exits 7.
const command = [
  'sh',
  '-c',
  `touch ${marker}; printf '%s\\n' "$@" > ${argsFile}; echo "dir=$PXM_DIR" >> ${argsFile}; ls "$PXM_DIR" >> ${argsFile}; exit 7`,
  'packed',
];

const ready = capable(
  all(haveCommand('dash'), haveCommand('busybox'), haveCommand('sha256sum')),
  'pack installer tests',
);

beforeAll(async () => {
  mkdirSync(empty);
  mkdirSync(tmp);
  writeFileSync(config, 'install: {unmount: disabled}\n');
  writeFileSync(path.join(work, 'note.txt'), 'packed note\n');
  const r = await pxm([
    'pack',
    '-o',
    installer,
    '--config',
    config,
    '--add',
    `${work}/note.txt:extra/note.txt`,
    '--',
    ...command,
  ]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function leftovers(): string[] {
  return readdirSync(tmp);
}

function flipByte(src: string, dest: string, at: number): void {
  const b = readFileSync(src);
  b[at] = (b[at] as number) ^ 0x20;
  writeFileSync(dest, b);
}

function payloadOffset(file: string): number {
  const m = /^PXM_PAYLOAD_OFFSET=(\d+)$/m.exec(
    readFileSync(file).subarray(0, 20000).toString('latin1'),
  );
  return Number(m?.[1]);
}

describe.skipIf(!ready)('pxm pack: the installer', () => {
  it('is an executable POSIX sh script', () => {
    expect(statSync(installer).mode & 0o777).toBe(0o755);
    expect(readFileSync(installer).subarray(0, 10).toString()).toBe('#!/bin/sh\n');
    // No packed text in the sh head: the command lives in the verified payload only.
    const head = readFileSync(installer).subarray(0, payloadOffset(installer)).toString();
    expect(head).not.toContain(marker);
    expect(head).not.toContain('site.yaml');
  });

  for (const shell of SHELLS) {
    const name = shell.join(' ');
    describe(`under ${name}`, () => {
      it('info: contents, reproducible build, compressor', async () => {
        const r = await runInstaller(installer, ['info'], { shell, cwd: empty });
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toContain('created:     reproducible build');
        expect(r.stdout).toContain('format:      tar.gz (gzip -9) after a POSIX sh extractor');
        expect(r.stdout).toMatch(/^payload: +\d+ bytes, sha256 [0-9a-f]{64} \(verified\)$/m);
        expect(r.stdout).toContain("runtime:     none: uses node >= 20.19 from the target's PATH");
        expect(r.stdout).toMatch(/-rw-r--r-- +\d+ +pxm\.cjs$/m);
        expect(r.stdout).toMatch(/-rw------- +\d+ +configs\/01-site\.yaml$/m);
        expect(r.stdout).toMatch(/extra\/note\.txt$/m);
        expect(existsSync(marker)).toBe(false);
      });

      it('check: verifies both checksums', async () => {
        const r = await runInstaller(installer, ['check'], { shell, cwd: empty });
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toMatch(/^OK: .*script and payload sha256 verified/);
      });

      it('--no-execute: unpacks into a private directory, runs nothing, says where', async () => {
        const r = await runInstaller(installer, ['--no-execute'], {
          shell,
          cwd: empty,
          env: { TMPDIR: tmp },
        });
        expect(r.exitCode).toBe(0);
        const dir = /^unpacked into (.+)$/m.exec(r.stdout)?.[1] ?? '';
        try {
          expect(path.dirname(dir)).toBe(tmp);
          expect(statSync(dir).mode & 0o777).toBe(0o700);
          expect(readFileSync(path.join(dir, 'pxm.cjs')).equals(readFileSync(bundle))).toBe(true);
          expect(readFileSync(path.join(dir, 'configs/01-site.yaml'), 'utf8')).toBe(
            readFileSync(config, 'utf8'),
          );
          expect(readFileSync(path.join(dir, 'extra/note.txt'), 'utf8')).toBe('packed note\n');
          expect(existsSync(marker)).toBe(false);
          // bin/pxm runs the packed bundle.
          const v = execFileSync(
            '/usr/bin/env',
            ['-i', `PATH=${SYSTEM_PATH}`, path.join(dir, 'bin/pxm'), '--version'],
            {
              cwd: empty,
              encoding: 'utf8',
            },
          );
          expect(v).toMatch(/^pxm\/\d+\.\d+\.\d+/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it("runs the packed command with the script's arguments, returns its status, cleans up", async () => {
        rmSync(marker, { force: true });
        const r = await runInstaller(installer, ['--', 'one', 'two words'], {
          shell,
          cwd: empty,
          env: { TMPDIR: tmp },
        });
        expect(r.exitCode).toBe(7);
        expect(existsSync(marker)).toBe(true);
        const lines = readFileSync(argsFile, 'utf8').split('\n');
        expect(lines.slice(0, 2)).toEqual(['one', 'two words']);
        expect(lines[2]).toMatch(new RegExp(`^dir=${tmp}/pxm-installer\\.`));
        expect(lines).toEqual(expect.arrayContaining(['bin', 'configs', 'extra', 'pxm.cjs']));
        expect(leftovers()).toEqual([]);
        rmSync(marker);
      });
    });
  }

  it('-p PREFIX unpacks there and keeps it', async () => {
    const prefix = path.join(work, 'prefix');
    const r = await runInstaller(installer, ['-p', prefix, '--', 'x'], { cwd: empty });
    expect(r.exitCode).toBe(7);
    expect(readFileSync(path.join(prefix, 'extra/note.txt'), 'utf8')).toBe('packed note\n');
    expect(statSync(prefix).mode & 0o777).toBe(0o700);
    rmSync(marker, { force: true });
  });

  it('an interrupted run (SIGTERM to the process group) removes its directory', async () => {
    const slow = path.join(work, 'slow.sh');
    const p = await pxm(['pack', '-o', slow, '--', 'sh', '-c', `touch ${marker}.slow; sleep 60`]);
    expect(p.exitCode).toBe(0);
    const child = execa(
      '/usr/bin/env',
      ['-i', `PATH=${SYSTEM_PATH}`, `TMPDIR=${tmp}`, 'dash', slow],
      {
        cwd: empty,
        reject: false,
        detached: true, // its own process group, like a shell job receiving Ctrl-C
      },
    );
    try {
      for (let i = 0; i < 600 && !existsSync(`${marker}.slow`); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(leftovers()).toHaveLength(1);
      process.kill(-(child.pid as number), 'SIGTERM');
      const r = await child;
      expect(r.exitCode).toBe(143);
      expect(leftovers()).toEqual([]);
    } finally {
      rmSync(`${marker}.slow`, { force: true });
    }
  });

  it('dump FILE writes the verified payload archive', async () => {
    const out = path.join(work, 'payload.tar.gz');
    const r = await runInstaller(installer, ['dump', out], { cwd: empty });
    expect(r.exitCode).toBe(0);
    expect(
      readFileSync(out).equals(readFileSync(installer).subarray(payloadOffset(installer))),
    ).toBe(true);
    const names = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual([
      '.pxm/',
      '.pxm/info',
      '.pxm/run',
      'configs/',
      'configs/01-site.yaml',
      'extra/',
      'extra/note.txt',
      'pxm.cjs',
    ]);
    expect(existsSync(marker)).toBe(false);
  });

  describe('refuses a damaged file before anything from the payload runs', () => {
    const damaged = path.join(work, 'damaged.sh');
    const cases: [string, (size: number, offset: number, text: string) => number, RegExp][] = [
      ['a flipped byte in the payload', (_s, off) => off + 1000, /payload checksum mismatch/],
      ['a flipped last byte', (size) => size - 1, /payload checksum mismatch/],
      [
        'a flipped byte in the extractor code (header)',
        (_s, _o, text) => text.indexOf('pxm_unpack() {') + 5,
        /script checksum mismatch/,
      ],
      [
        'a flipped byte in the packed command (payload)',
        (_s, off) => off + 600,
        /payload checksum mismatch/,
      ],
      [
        'a flipped byte in the recorded payload hash',
        (_s, _o, text) => text.indexOf('PXM_PAYLOAD_SHA256=') + 25,
        /script checksum mismatch/,
      ],
      ['a flipped byte in the usage comment (line 2)', () => 20, /script checksum mismatch/],
    ];
    for (const [what, where, message] of cases) {
      for (const shell of SHELLS) {
        it(`${what} (${shell.join(' ')})`, async () => {
          const size = statSync(installer).size;
          const offset = payloadOffset(installer);
          const at = where(
            size,
            offset,
            readFileSync(installer).subarray(0, offset).toString('latin1'),
          );
          flipByte(installer, damaged, at);
          const r = await runInstaller(damaged, [], { shell, cwd: empty, env: { TMPDIR: tmp } });
          expect(r.exitCode).toBe(65);
          expect(r.stderr).toMatch(message);
          expect(r.stderr).toMatch(/refusing to run it/);
          expect(existsSync(marker)).toBe(false);
          expect(leftovers()).toEqual([]);
        });
      }
    }

    it('a truncated file (every shell, every mode)', async () => {
      const size = statSync(installer).size;
      writeFileSync(damaged, readFileSync(installer).subarray(0, size - 4096));
      for (const shell of SHELLS) {
        for (const mode of [[], ['check'], ['info'], ['--no-execute']]) {
          const r = await runInstaller(damaged, mode, { shell, cwd: empty, env: { TMPDIR: tmp } });
          expect(r.exitCode).toBe(65);
          expect(r.stderr).toContain(`is truncated (${size - 4096} of ${size} bytes)`);
        }
      }
      expect(existsSync(marker)).toBe(false);
      expect(leftovers()).toEqual([]);
    });

    it('a file cut inside its header', async () => {
      writeFileSync(damaged, readFileSync(installer).subarray(0, 3000));
      const r = await runInstaller(damaged, [], { cwd: empty, env: { TMPDIR: tmp } });
      expect(r.exitCode).not.toBe(0);
      expect(existsSync(marker)).toBe(false);
      expect(leftovers()).toEqual([]);
    });
  });

  describe('the target node', () => {
    const farm = toolFarm(path.join(work, 'farm-nonode'), /^node/);
    const oldFarm = toolFarm(path.join(work, 'farm-oldnode'), /^node/);
    writeFileSync(path.join(oldFarm, 'node'), '#!/bin/sh\necho v20.18.3\n', { mode: 0o755 });

    it('missing: a clear message, nothing unpacked', async () => {
      expect(await commandV('node', farm)).toBe('');
      const r = await runInstaller(installer, [], { cwd: empty, path: farm, env: { TMPDIR: tmp } });
      expect(r.exitCode).toBe(69);
      expect(r.stderr).toMatch(
        /node not found on PATH: this installer carries no runtime and needs Node.js >= 20.19/,
      );
      expect(r.stderr).toContain('--with-node');
      expect(existsSync(marker)).toBe(false);
      expect(leftovers()).toEqual([]);
    });

    it('too old: names the version found', async () => {
      const r = await runInstaller(installer, [], {
        cwd: empty,
        path: oldFarm,
        env: { TMPDIR: tmp },
      });
      expect(r.exitCode).toBe(69);
      expect(r.stderr).toContain(
        `${oldFarm}/node is Node.js v20.18.3; this installer needs >= 20.19`,
      );
      expect(existsSync(marker)).toBe(false);
    });
  });
});

describe('reproducibility', () => {
  it('packing the same inputs twice gives byte-identical installers (CLI)', async () => {
    const again = path.join(work, 'again.sh');
    const r = await pxm([
      'pack',
      '-o',
      again,
      '--config',
      config,
      '--add',
      `${work}/note.txt:extra/note.txt`,
      '--',
      ...command,
    ]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(again).equals(readFileSync(installer))).toBe(true);
  });

  it('in memory as well, from config content; --timestamp makes a difference and says when', async () => {
    const opts = {
      bundle,
      configs: [{ name: 'node-1.yaml', content: { install: { unmount: 'disabled' } } }],
    };
    const a = await buildInstaller(opts);
    const b = await buildInstaller(opts);
    expect(a.equals(b)).toBe(true);
    const c = await buildInstaller({ ...opts, timestamp: new Date('2026-01-02T03:04:05Z') });
    expect(c.equals(a)).toBe(false);
    const file = path.join(work, 'stamped.sh');
    writeFileSync(file, c);
    const r = await runInstaller(file, ['info'], { cwd: empty });
    expect(r.stdout).toContain('created:     2026-01-02T03:04:05.000Z');
    expect(r.stdout).toContain(
      'command:     pxm install --config $PXM_DIR/configs/01-node-1.yaml [ARGS...]',
    );
  });
});

describe('pxm pack: bad input', () => {
  it('names the config file that is not a mapping, and writes nothing', async () => {
    const bad = path.join(work, 'bad.yaml');
    writeFileSync(bad, '- just\n- a list\n');
    const out = path.join(work, 'never.sh');
    const r = await pxm(['pack', '-o', out, '--config', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${bad}: top level of a config must be a mapping`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a --with-node PATH that is not a node binary', async () => {
    const out = path.join(work, 'never.sh');
    const missing = await pxm(['pack', '-o', out, '--with-node', path.join(work, 'no-such-node')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--with-node .*no-such-node: cannot read the node binary/);
    const notNode = await pxm(['pack', '-o', out, '--with-node', config, '--config', config]);
    expect(notNode.exitCode).toBe(2);
    expect(notNode.stderr).toContain(`--with-node ${config}: does not run as a node binary`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an --add destination outside the installer directory', async () => {
    const out = path.join(work, 'never.sh');
    const r = await pxm(['pack', '-o', out, '--add', `${config}:../escape.yaml`]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--add .*:\.\.\/escape\.yaml: destination must stay inside/);
    expect(existsSync(out)).toBe(false);
  });
});
