// Output for `pxm nodes`: a short aligned table for people, JSON for scripts.
import type { ApiEvent, ApiNode } from './api.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function nodesTable(nodes: ApiNode[]): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'ARCH', 'IP', 'MACS'],
    nodes.map((n) => [
      n.id,
      n.hostname,
      n.status,
      n.architecture,
      n.ip ?? '-',
      n.macs.join(',') || '-',
    ]),
  );
}

export function nodeDetails(n: ApiNode): string {
  const rows: [string, string][] = [
    ['id', n.id],
    ['hostname', n.fqdn],
    ['status', n.status + (n.statusReason ? ` (${n.statusReason})` : '')],
    ['since', n.statusChangedAt],
    ['actions', n.actions.join(', ') || '-'],
    ['architecture', n.architecture],
    ['macs', n.macs.join(', ') || '-'],
    ['ip', n.ip ?? '-'],
    ['power', n.powerType],
    ['ssh keys', String(n.sshKeys.length)],
    ['netboot', String(n.deploy.netboot)],
    ['deploy configs', String(n.deploy.configs.length)],
    ['source', n.deploy.source ?? '-'],
  ];
  const inv = n.inventory as {
    cpu?: { count?: number; model?: string };
    memory?: { total_bytes?: number };
    disks?: unknown[];
    nics?: unknown[];
  } | null;
  if (inv) {
    rows.push(['cpu', `${inv.cpu?.count ?? '?'} x ${inv.cpu?.model ?? '?'}`]);
    rows.push(['memory', `${((inv.memory?.total_bytes ?? 0) / 2 ** 30).toFixed(1)} GiB`]);
    rows.push(['disks/nics', `${inv.disks?.length ?? 0} / ${inv.nics?.length ?? 0}`]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export function eventLine(e: ApiEvent): string {
  return `${e.time}  #${e.id}  ${e.type.padEnd(8)}  ${e.summary}\n`;
}
