// Wipe modes as curtin defines them, as steps. `superblock` removes every
// signature wipefs knows and zeroes the first and last MiB (GPT keeps a backup header at
// the end; md and LVM metadata can sit at either end).
import type { StorageStep, WipeMode } from './types.js';

const MiB = 1024 * 1024;

function superblock(device: string, size: number): StorageStep[] {
  const n = Math.min(MiB, size);
  const steps: StorageStep[] = [
    {
      kind: 'exec',
      argv: ['wipefs', '--all', '--force', '--quiet', device],
      description: `remove signatures on ${device}`,
    },
    { kind: 'zero', device, offset: 0, length: n, description: `zero the first MiB of ${device}` },
  ];
  if (size > MiB) {
    steps.push({
      kind: 'zero',
      device,
      offset: size - MiB,
      length: MiB,
      description: `zero the last MiB of ${device}`,
    });
  }
  return steps;
}

/**
 * Steps that wipe `device` (`size` bytes). `children` are partition nodes the kernel
 * has for it now, wiped first by superblock-recursive.
 */
export function wipeSteps(
  mode: WipeMode,
  device: string,
  size: number,
  children: { node: string; size: number }[] = [],
): StorageStep[] {
  switch (mode) {
    case 'superblock':
      return superblock(device, size);
    case 'superblock-recursive':
      return [...children.flatMap((c) => superblock(c.node, c.size)), ...superblock(device, size)];
    case 'zero':
    case 'random':
      return [
        {
          kind: 'exec',
          argv: [
            'dd',
            `if=/dev/${mode === 'zero' ? 'zero' : 'urandom'}`,
            `of=${device}`,
            `bs=${4 * MiB}`,
            `count=${size}`,
            'iflag=count_bytes',
            'conv=notrunc,fsync',
            'status=none',
          ],
          description: `overwrite all of ${device} with ${mode === 'zero' ? 'zeros' : 'random data'}`,
        },
      ];
    case 'pvremove':
      return [
        {
          kind: 'exec',
          argv: ['pvremove', '--force', '--force', '--yes', device],
          description: `remove LVM physical volume label from ${device}`,
          // Not a PV (or lvm not installed): nothing to remove; superblock follows anyway.
          allowFailure: true,
        },
        ...superblock(device, size),
      ];
  }
}
