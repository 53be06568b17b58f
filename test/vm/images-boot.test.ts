// The ephemeral image as a test bed: built from this machine's Debian mirror by pxm's
// own builder, booted under qemu with blank disks, doing what the host kernel cannot
// (vfat, LVM, md RAID1, LUKS2). One boot runs every scenario to keep the suite short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { capable } from '../helpers/capability.js';
import { defaultMirror } from '../../src/images/apt-sources.js';
import { cacheDir, ensureTestImage, vmCapability, type TestImage } from '../helpers/vm-image.js';
import { pxm } from '../helpers/pxm.js';
import { bootVm, parseScenarios, scenarioScript, VmError, type VmResult } from '../helpers/vm.js';

const run = capable(vmCapability(), 'VM tests (ephemeral image)');

describe.skipIf(!run)('ephemeral image in the VM harness', () => {
  let image: TestImage;
  let vm: VmResult;

  beforeAll(async () => {
    image = await ensureTestImage();
    vm = await bootVm({
      image,
      disks: [{ sizeMiB: 128 }, { sizeMiB: 128 }, { sizeMiB: 64 }],
      keepDisks: true,
      // Generous: boots take 2-7 min here depending on how loaded the two cores are.
      timeoutMs: 900_000,
      script:
        scenarioScript([
          {
            name: 'version',
            script: 'command -v pxm\npxm --version\nsha256sum /usr/local/lib/pxm/pxm.cjs',
          },
          {
            name: 'vfat',
            script: `mkfs.vfat -n PXMESP /dev/disk/by-id/virtio-disk-c
mkdir -p /mnt/esp && mount -t vfat /dev/disk/by-id/virtio-disk-c /mnt/esp
echo hello-from-vfat > /mnt/esp/HELLO.TXT
umount /mnt/esp && mount /dev/vdc /mnt/esp && cat /mnt/esp/HELLO.TXT
findmnt -n -o FSTYPE /mnt/esp
umount /mnt/esp`,
          },
          {
            name: 'raid1',
            script: `mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
cat /proc/mdstat
mdadm --detail /dev/md0 | grep -E 'Raid Level|Raid Devices'`,
          },
          {
            name: 'lvm',
            script: `pvcreate -ff -y /dev/md0
vgcreate pxmvg /dev/md0
lvcreate -y -L 32M -n root pxmvg
mkfs.ext4 -q /dev/pxmvg/root
vgs --noheadings -o vg_name,pv_count pxmvg
lvs --noheadings -o lv_name,lv_size --units m pxmvg`,
          },
          {
            name: 'luks2',
            script: `lvcreate -y -L 40M -n crypt pxmvg
printf 'pxm-test-passphrase' | cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/pxmvg/crypt -
printf 'pxm-test-passphrase' | cryptsetup open /dev/pxmvg/crypt pxmcrypt -
cryptsetup status pxmcrypt | grep -E 'type:'
mkfs.ext4 -q /dev/mapper/pxmcrypt
mkdir -p /mnt/c && mount /dev/mapper/pxmcrypt /mnt/c && echo secret > /mnt/c/f && umount /mnt/c
cryptsetup close pxmcrypt
cryptsetup luksDump /dev/pxmvg/crypt | grep -E '^Version'`,
          },
          { name: 'teardown', script: 'vgchange -an pxmvg\nmdadm --stop /dev/md0' },
        ]) + '\nexit 3\n',
    }).catch(async (e: unknown) => {
      // keepDisks keeps them on failure too; this suite has nothing to inspect then.
      if (e instanceof VmError && e.dir) await rm(e.dir, { recursive: true, force: true });
      throw e;
    });
  }, 45 * 60_000);

  afterAll(async () => {
    if (vm?.dir) await rm(vm.dir, { recursive: true, force: true });
  });

  it('was built from this machine’s Debian mirror with every storage tool', async () => {
    expect(image.manifest.mirror).toBe(await defaultMirror());
    for (const p of [
      'linux-image-amd64',
      'live-boot',
      'lvm2',
      'mdadm',
      'cryptsetup',
      'dosfstools',
      'cloud-init',
    ])
      expect(image.manifest.installed[p], p).toBeTruthy();
    for (const f of [image.vmlinuz, image.initrd, image.squashfs])
      expect(statSync(f).size).toBeGreaterThan(1_000_000);
  });

  it('a second build with the same inputs is a cache hit with the same artefacts', async () => {
    const r = await pxm(['images', 'build-ephemeral', '--json', '--cache-dir', cacheDir]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const again = JSON.parse(String(r.stdout)) as {
      dir: string;
      cached: boolean;
      manifest: TestImage['manifest'];
    };
    expect(again.cached).toBe(true);
    expect(again.dir).toBe(image.dir);
    expect(again.manifest.files).toEqual(image.manifest.files);
  });

  it('runs the working tree’s pxm inside the guest', () => {
    const s = parseScenarios(vm.output);
    expect(s.version?.exitCode, s.version?.output).toBe(0);
    const host = image.manifest.versions.pxm;
    expect(s.version?.output).toContain('/usr/local/bin/pxm');
    expect(s.version?.output).toContain(host.split(' ')[0]);
    // The bundle running in the guest is the one the harness injected, not the baked one.
    expect(s.version?.output).toContain(`${vm.bundleSha256}  /usr/local/lib/pxm/pxm.cjs`);
  });

  it('mounts vfat, builds md RAID1, an LVM volume group and a LUKS2 volume on the virtual disks', () => {
    const s = parseScenarios(vm.output);
    expect(s.vfat?.exitCode, s.vfat?.output).toBe(0);
    expect(s.vfat?.output).toContain('hello-from-vfat');
    expect(s.vfat?.output).toMatch(/^vfat$/m);
    expect(s.raid1?.exitCode, s.raid1?.output).toBe(0);
    expect(s.raid1?.output).toMatch(/Raid Level : raid1/);
    expect(s.lvm?.exitCode, s.lvm?.output).toBe(0);
    expect(s.lvm?.output).toMatch(/pxmvg\s+1/);
    expect(s.lvm?.output).toMatch(/root\s+32\.00m/);
    expect(s.luks2?.exitCode, s.luks2?.output).toBe(0);
    expect(s.luks2?.output).toMatch(/type:\s+LUKS2/);
    expect(s.luks2?.output).toMatch(/^Version:\s+2$/m);
    expect(s.teardown?.exitCode, s.teardown?.output).toBe(0);
  });

  it('returns the script’s own non-zero exit status to the host', () => {
    expect(vm.exitCode).toBe(3);
  });

  it('keeps the disks for inspection from the host when asked', async () => {
    expect(vm.disks).toHaveLength(3);
    for (const d of vm.disks) expect(existsSync(d)).toBe(true);
    // The RAID members carry md superblocks written by the guest.
    const { execa } = await import('execa');
    const probe = await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', vm.disks[0] ?? ''], {
      reject: false,
    });
    expect(probe.stdout.trim()).toBe('linux_raid_member');
    const esp = await execa('blkid', ['-p', '-o', 'value', '-s', 'LABEL', vm.disks[2] ?? ''], {
      reject: false,
    });
    expect(esp.stdout.trim()).toBe('PXMESP');
  });
});
