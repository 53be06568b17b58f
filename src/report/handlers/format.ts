import type { ReportEvent } from '../events.js';

/** `finish: cmd-install/stage-late/10_x: SUCCESS: running '10_x'`, curtin's print format. */
export function eventLine(ev: ReportEvent): string {
  const result = ev.event_type === 'finish' ? `${ev.result ?? 'SUCCESS'}: ` : '';
  return `${ev.event_type}: ${ev.name}: ${result}${ev.description}`;
}

/** 1.5 MiB style sizes for progress lines. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
