// Files the builder writes into the image root, besides packages.
//
// Kept as data (path, mode, content) so the planner can show them in a dry run and the
// unit tests can check them without a chroot.

export interface GuestFile {
  path: string;
  mode: number;
  content: string;
}

/** Kernel parameter the harness unit looks for; its value is the base URL (ends in /). */
export const HARNESS_PARAM = 'pxm.harness';

/**
 * cloud-init settings for a netbooted overlay root: C.UTF-8 exists without locales
 * (otherwise the locale module fails and cloud-init ends in `error`), and cloud-init must
 * not rewrite the network that live-boot configured in the initramfs (it would take the
 * root filesystem's only link down). Growing the root and generating ssh host keys only
 * produce warnings on an overlay root without sshd.
 */
const cloudCfg = `# Written by pxm images build-ephemeral.
locale: C.UTF-8
network:
  config: disabled
# The root is a RAM overlay: nothing to grow, and no sshd in the image to give keys to.
resize_rootfs: false
growpart:
  mode: "off"
ssh_genkeytypes: []
`;

const pxmWrapper = `#!/bin/sh
# pxm: the one-file bundle run by the Node runtime shipped in this image.
exec /usr/local/bin/node /usr/local/lib/pxm/pxm.cjs "$@"
`;

/**
 * The harness hook: with pxm.harness=URL (or URL as its argument) on the kernel command line it fetches URL/pxm.cjs
 * (the bundle under test replaces the baked one), URL/script, runs the script, POSTs its
 * output to URL/result?exit=N and powers off. A systemd unit starts it as soon as
 * the root is up, well before cloud-init's final stage would.
 */
const harnessRun = `#!/bin/bash
# pxm VM test harness hook (see docs/ephemeral-image.md).
set -u
# The base URL: the first argument (cloud-init runcmd), else pxm.harness= on the cmdline.
base=\${1:-$(tr ' ' '\\n' < /proc/cmdline | sed -n 's/^${HARNESS_PARAM}=//p' | tail -n1)}
[ -n "$base" ] || exit 0
work=/run/pxm-harness
mkdir -p "$work"
say() { echo "pxm-harness: $*" > /dev/console; }
fetch() { curl -fsS --retry 30 --retry-delay 1 --retry-connrefused -o "$2" "$base$1"; }
say "fetching bundle and script from $base"
if fetch pxm.cjs "$work/pxm.cjs"; then
  install -D -m 0644 "$work/pxm.cjs" /usr/local/lib/pxm/pxm.cjs
else
  say "no bundle served; keeping the image's own"
fi
if ! fetch script "$work/script"; then
  say "cannot fetch the script"
  poweroff -f
fi
# Disks' udev links (by-id with the serials) must exist before the script looks.
udevadm settle -t 60 || true
say "running script"
{ bash "$work/script" < /dev/null 2>&1; echo $? > "$work/exit"; } | tee "$work/output" > /dev/console
rc=$(cat "$work/exit")
sync
say "script exited $rc"
curl -fsS --retry 10 --retry-delay 1 --retry-connrefused -X POST \\
  -H 'Content-Type: application/octet-stream' --data-binary @"$work/output" \\
  "\${base}result?exit=$rc" > /dev/null || say "could not report the result"
poweroff -f
`;

const harnessUnit = `[Unit]
Description=pxm VM test harness: run the script named on the kernel command line
ConditionKernelCommandLine=${HARNESS_PARAM}
After=network.target systemd-udevd.service
Wants=systemd-udevd.service

[Service]
Type=oneshot
ExecStart=/usr/local/lib/pxm/harness-run
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

export function guestFiles(): GuestFile[] {
  return [
    { path: 'etc/cloud/cloud.cfg.d/90-pxm-ephemeral.cfg', mode: 0o644, content: cloudCfg },
    { path: 'usr/local/bin/pxm', mode: 0o755, content: pxmWrapper },
    { path: 'usr/local/lib/pxm/harness-run', mode: 0o755, content: harnessRun },
    { path: 'etc/systemd/system/pxm-harness.service', mode: 0o644, content: harnessUnit },
  ];
}

/**
 * Periodic maintenance that makes no sense in a RAM root that lives for minutes; masked
 * so it neither costs boot time nor touches the disks being installed.
 */
export const MASKED_UNITS: readonly string[] = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
];

/** Symlinks (path → target) the builder creates; systemctl enable in a chroot is slower. */
export const GUEST_SYMLINKS: ReadonlyArray<readonly [string, string]> = [
  ...MASKED_UNITS.map((u) => [`etc/systemd/system/${u}`, '/dev/null'] as const),
  [
    'etc/systemd/system/multi-user.target.wants/pxm-harness.service',
    '/etc/systemd/system/pxm-harness.service',
  ],
];
