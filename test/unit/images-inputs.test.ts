import { describe, expect, it } from 'vitest';
import { parseListFile, parseSourcesFile, pickMirror } from '../../src/images/apt-sources.js';
import { BASE_PACKAGES, imageKey, resolveInputs, rootKey } from '../../src/images/inputs.js';
import { guestFiles } from '../../src/images/guest-files.js';
import { parseDpkgList } from '../../src/images/manifest.js';
import { ValidationError } from '../../src/util/errors.js';

const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe('default mirror from apt sources', () => {
  it('reads deb822 stanzas and skips the security archive', () => {
    const s = parseSourcesFile(deb822, 'debian.sources');
    expect(s.map((x) => x.uri)).toEqual([
      'http://deb.debian.org/debian',
      'http://deb.debian.org/debian-security',
    ]);
    expect(pickMirror(s)).toBe('http://deb.debian.org/debian');
  });

  it('prefers the main archive even when security is listed first', () => {
    const list = `# comment
deb http://security.debian.org/debian-security bookworm-security main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib
`;
    expect(pickMirror(parseListFile(list, 'sources.list'))).toBe('http://mirror.example/debian');
  });

  it('skips disabled stanzas and non-deb types', () => {
    const text = `Types: deb-src\nURIs: http://a.example/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://b.example/debian\nSuites: bookworm\n`;
    expect(pickMirror(parseSourcesFile(text, 'x.sources'))).toBeUndefined();
  });
});

describe('build inputs and cache keys', () => {
  const base = {
    suite: 'bookworm',
    mirror: 'http://deb.debian.org/debian/',
    extraPackages: [],
    compression: 'zstd',
    nodeVersion: 'v20.1.0',
  };

  it('always installs the kernel, live-boot and the storage tools', () => {
    const i = resolveInputs({ ...base, extraPackages: ['vim'] });
    for (const p of [
      'linux-image-amd64',
      'live-boot',
      'lvm2',
      'mdadm',
      'cryptsetup',
      'dosfstools',
      'cloud-init',
      'vim',
    ])
      expect(i.packages).toContain(p);
    expect(i.mirror).toBe('http://deb.debian.org/debian');
    expect(i.packages.length).toBe(BASE_PACKAGES.length + 1);
  });

  it('keys change with packages, mirror and node but the root key ignores node and compression', () => {
    const a = resolveInputs(base);
    const b = resolveInputs({ ...base, nodeVersion: 'v22.0.0' });
    const c = resolveInputs({ ...base, extraPackages: ['vim'] });
    const d = resolveInputs({ ...base, mirror: 'http://other.example/debian' });
    const e = resolveInputs({ ...base, compression: 'xz' });
    expect(imageKey(a)).toBe(imageKey(resolveInputs(base)));
    expect(new Set([a, b, c, d, e].map(imageKey)).size).toBe(5);
    expect(rootKey(b)).toBe(rootKey(a));
    expect(rootKey(e)).toBe(rootKey(a));
    expect(rootKey(c)).not.toBe(rootKey(a));
    expect(rootKey(d)).not.toBe(rootKey(a));
    // Package order given by the user does not matter.
    expect(imageKey(resolveInputs({ ...base, extraPackages: ['b-pkg', 'a-pkg'] }))).toBe(
      imageKey(resolveInputs({ ...base, extraPackages: ['a-pkg', 'b-pkg'] })),
    );
  });

  it('rejects bad flags naming the flag', () => {
    expect(() => resolveInputs({ ...base, extraPackages: ['rm -rf /'] })).toThrow(ValidationError);
    expect(() => resolveInputs({ ...base, extraPackages: ['x;y'] })).toThrow(/--package/);
    expect(() => resolveInputs({ ...base, mirror: 'not a url' })).toThrow(/--mirror/);
    expect(() => resolveInputs({ ...base, mirror: 'ftp://x/debian' })).toThrow(/--mirror/);
    expect(() => resolveInputs({ ...base, suite: '../etc' })).toThrow(/--suite/);
    expect(() => resolveInputs({ ...base, compression: 'gzip' })).toThrow(/--compression/);
  });
});

describe('files written into the image', () => {
  const files = new Map(guestFiles().map((f) => [f.path, f]));

  it('configures cloud-init for an overlay root', () => {
    const cfg = files.get('etc/cloud/cloud.cfg.d/90-pxm-ephemeral.cfg')?.content ?? '';
    expect(cfg).toMatch(/^locale: C\.UTF-8$/m);
    expect(cfg).toMatch(/config: disabled/);
  });

  it('puts pxm on PATH through the bundled node', () => {
    const w = files.get('usr/local/bin/pxm');
    expect(w?.mode).toBe(0o755);
    expect(w?.content).toContain('/usr/local/bin/node /usr/local/lib/pxm/pxm.cjs');
  });

  it('the harness hook reports the exit status and powers off', () => {
    const hook = files.get('usr/local/lib/pxm/harness-run')?.content ?? '';
    expect(hook).toContain('result?exit=$rc');
    expect(hook).toMatch(/poweroff -f\n$/);
  });

  it('parses dpkg-query output', () => {
    expect(parseDpkgList('lvm2 2.03.16-2\nmdadm 4.2-5\n\n')).toEqual({
      lvm2: '2.03.16-2',
      mdadm: '4.2-5',
    });
  });
});
