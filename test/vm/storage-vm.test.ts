// What the host kernel cannot do (vfat mounts, LVM, md RAID, dm-crypt), tested inside a
// VM with Debian's kernel: one boot, one combined layout plus a failure midway.
//   disk-a (gpt):   bios_grub + ESP (vfat, /boot/efi) + /boot (ext4) + LVM PV
//                   -> vg0: root (ext4, /) and swap
//   disk-b (msdos) + disk-c (gpt): one raid partition each -> md0 RAID1 -> LUKS2
//                   (passphrase) -> ext4 /srv, crypttab written
//   disk-d + disk-e: RAID1 -> LUKS2 -> LVM -> a mount that fails: everything torn down.
// Disks are matched by serial, as MAAS configs do.
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { capable } from '../helpers/capability.js';
import { vmCapability } from '../helpers/vm-image.js';
import { bootVm, parseScenarios, scenarioScript, type ScenarioResult } from '../helpers/vm.js';

const run = capable(vmCapability(), 'storage VM tests (LVM, RAID, LUKS, ESP)');

const combined = {
  storage: {
    version: 1,
    config: [
      {
        id: 'sda',
        type: 'disk',
        serial: 'disk-a',
        ptable: 'gpt',
        wipe: 'superblock',
        grub_device: true,
      },
      { id: 'bios', type: 'partition', device: 'sda', size: '1M', flag: 'bios_grub' },
      { id: 'esp', type: 'partition', device: 'sda', size: '128M', flag: 'boot' },
      { id: 'boot', type: 'partition', device: 'sda', size: '256M' },
      { id: 'pv', type: 'partition', device: 'sda', size: '700M', flag: 'lvm' },
      { id: 'vg0', type: 'lvm_volgroup', name: 'vg0', devices: ['pv'] },
      { id: 'lv-swap', type: 'lvm_partition', volgroup: 'vg0', name: 'swap', size: '128M' },
      { id: 'lv-root', type: 'lvm_partition', volgroup: 'vg0', name: 'root' },
      { id: 'sdb', type: 'disk', serial: 'disk-b', ptable: 'msdos', wipe: 'superblock' },
      { id: 'sdb1', type: 'partition', device: 'sdb', size: '200M', flag: 'raid' },
      { id: 'sdc', type: 'disk', serial: 'disk-c', ptable: 'gpt', wipe: 'superblock' },
      { id: 'sdc1', type: 'partition', device: 'sdc', size: '200M', flag: 'raid' },
      { id: 'md0', type: 'raid', name: 'md0', raidlevel: 1, devices: ['sdb1', 'sdc1'] },
      {
        id: 'crypt',
        type: 'dm_crypt',
        volume: 'md0',
        dm_name: 'cryptsrv',
        key: 'pxm test passphrase',
      },
      { id: 'f-esp', type: 'format', volume: 'esp', fstype: 'fat32', label: 'ESP' },
      { id: 'f-boot', type: 'format', volume: 'boot', fstype: 'ext4', label: 'boot' },
      { id: 'f-root', type: 'format', volume: 'lv-root', fstype: 'ext4', label: 'root' },
      { id: 'f-swap', type: 'format', volume: 'lv-swap', fstype: 'swap' },
      { id: 'f-srv', type: 'format', volume: 'crypt', fstype: 'ext4', label: 'srv' },
      { id: 'm-efi', type: 'mount', device: 'f-esp', path: '/boot/efi' },
      { id: 'm-srv', type: 'mount', device: 'f-srv', path: '/srv' },
      { id: 'm-swap', type: 'mount', device: 'f-swap', path: 'none' },
      { id: 'm-boot', type: 'mount', device: 'f-boot', path: '/boot' },
      { id: 'm-root', type: 'mount', device: 'f-root', path: '/' },
    ],
  },
};

const failing = {
  storage: {
    version: 1,
    config: [
      { id: 'sdd', type: 'disk', serial: 'disk-d', wipe: 'superblock' },
      { id: 'sde', type: 'disk', serial: 'disk-e', wipe: 'superblock' },
      { id: 'md1', type: 'raid', name: 'md1', raidlevel: 1, devices: ['sdd', 'sde'] },
      { id: 'c1', type: 'dm_crypt', volume: 'md1', dm_name: 'cryptfail', key: 'k' },
      { id: 'vg1', type: 'lvm_volgroup', name: 'vgfail', devices: ['c1'] },
      { id: 'lv1', type: 'lvm_partition', volgroup: 'vg1', name: 'data', size: '64M' },
      { id: 'lv2', type: 'lvm_partition', volgroup: 'vg1', name: 'more' },
      { id: 'f1', type: 'format', volume: 'lv1', fstype: 'ext4' },
      { id: 'f2', type: 'format', volume: 'lv2', fstype: 'ext4' },
      { id: 'm1', type: 'mount', device: 'f1', path: '/' },
      // ext4 mounted as xfs: the second mount fails after the first succeeded.
      { id: 'm2', type: 'mount', device: 'f2', path: '/data', fstype: 'xfs' },
    ],
  },
};

function kv(out: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^@(\w+)=(.*)$/.exec(line);
    if (m?.[1]) o[m[1]] = m[2] ?? '';
  }
  return o;
}

describe.skipIf(!run)('storage in a VM: LVM, RAID1, LUKS2, ESP', () => {
  let s: Record<string, ScenarioResult> = {};
  let consoleTail = '';
  beforeAll(async () => {
    const vm = await bootVm({
      disks: [
        { sizeMiB: 1200 },
        { sizeMiB: 256 },
        { sizeMiB: 256 },
        { sizeMiB: 256 },
        { sizeMiB: 256 },
      ],
      timeoutMs: 15 * 60_000,
      script: scenarioScript([
        {
          name: 'combined',
          script: `cat > /tmp/combined.yaml <<'EOF'
${stringify(combined)}
EOF
mkdir -p /tmp/out
pxm block-meta custom -c /tmp/combined.yaml -t /target --fstab /tmp/out/fstab
echo "@efi=$(findmnt -n -o FSTYPE /target/boot/efi)"
echo "@mounts=$(findmnt -ln -o TARGET | grep '^/target' | tr '\\n' ' ')"
echo "@lvs=$(lvs --noheadings -o lv_name,vg_name --separator : | tr -d ' ' | sort | tr '\\n' ' ')"
echo "@md=$(cat /sys/block/md0/md/level) $(cat /sys/block/md0/md/raid_disks)"
echo "@luks=$(cryptsetup status cryptsrv | awk '/type:/ {print $2}')"
echo "@luksuuid=$(cryptsetup luksUUID /dev/md0)"
echo "@srvdev=$(findmnt -n -o SOURCE /target/srv)"
echo "@crypttab=$(cat /tmp/out/crypttab)"
echo "@swapuuid=$(blkid -p -s UUID -o value /dev/mapper/vg0-swap)"
echo "@rootuuid=$(blkid -p -s UUID -o value /dev/mapper/vg0-root)"
echo "@espuuid=$(blkid -p -s UUID -o value /dev/vda2)"
echo "@parts=$(sfdisk --json /dev/vda | grep -c '"node"')"
cat /tmp/out/fstab
echo hello > /target/boot/efi/hello.txt
umount /target/boot/efi /target/boot /target/srv /target
vgchange -an vg0 >/dev/null
cryptsetup close cryptsrv
mdadm --stop /dev/md0
echo "@left=$(dmsetup ls | grep -c -E 'vg0|cryptsrv' || true) $(grep -c md0 /proc/mdstat || true)"`,
        },
        {
          name: 'failure',
          script: `cat > /tmp/failing.yaml <<'EOF'
${stringify(failing)}
EOF
set +e
pxm block-meta custom -c /tmp/failing.yaml -t /target2 > /tmp/fail.out 2>&1
echo "@status=$?"
set -e
grep '^pxm:' /tmp/fail.out | sed 's/^/@error=/' || cat /tmp/fail.out
echo "@mounts=$(findmnt -rn -o TARGET | grep -c '^/target2' || true)"
echo "@dm=$(dmsetup ls | grep -c -E 'vgfail|cryptfail' || true)"
echo "@md=$(grep -c md1 /proc/mdstat || true)"`,
        },
      ]),
    });
    s = parseScenarios(vm.output);
    consoleTail = vm.output.slice(-4000);
  }, 20 * 60_000);

  it('builds gpt + bios_grub + ESP + /boot + LVM root and swap, and RAID1 + LUKS2 on msdos + gpt', () => {
    const r = s.combined;
    expect(r, consoleTail).toBeDefined();
    expect(r?.exitCode, r?.output).toBe(0);
    const v = kv(r?.output ?? '');
    expect(v.efi).toBe('vfat');
    expect(v.mounts?.trim().split(' ')).toEqual([
      '/target',
      '/target/boot',
      '/target/srv',
      '/target/boot/efi',
    ]);
    expect(v.lvs?.trim()).toBe('root:vg0 swap:vg0');
    expect(v.md).toBe('raid1 2');
    expect(v.luks).toBe('LUKS2');
    expect(v.srvdev).toBe('/dev/mapper/cryptsrv');
    expect(v.crypttab).toBe(`cryptsrv UUID=${v.luksuuid} none luks`);
    expect(v.parts).toBe('4');
    const fstab = r?.output ?? '';
    expect(fstab).toContain(`UUID=${v.rootuuid} / ext4 defaults 0 1`);
    expect(fstab).toContain(`UUID=${v.espuuid} /boot/efi vfat defaults 0 0`);
    expect(fstab).toContain(`UUID=${v.swapuuid} none swap sw 0 0`);
    expect(v.left).toBe('0 0');
  });

  it('a failure midway tears down mounts, LVM, dm-crypt and md', () => {
    const r = s.failure;
    expect(r, consoleTail).toBeDefined();
    const v = kv(r?.output ?? '');
    expect(v.status).toBe('1');
    expect(v.error).toMatch(
      /mount \/dev\/mapper\/vgfail-more at \/data failed: .*everything it had set up was torn down/,
    );
    expect(v.mounts).toBe('0');
    expect(v.dm).toBe('0');
    expect(v.md).toBe('0');
  });
});
