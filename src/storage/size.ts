// curtin's size strings: a number with an optional unit K, M, G, T (powers of 1024),
// optionally followed by B ("512M", "8GB", "5.5G"); a bare number is bytes.

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/** Bytes for a size value, or undefined when it is not a size. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(value);
  if (!m) return undefined;
  const [, num, unit] = m;
  const bytes = Math.floor(Number(num) * (UNITS[(unit ?? '').toUpperCase()] ?? NaN));
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/** A readable size: the largest unit that divides it exactly (2051MiB, 1GiB, 4096B). */
export function formatBytes(bytes: number): string {
  for (const [unit, f] of [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}iB`;
  }
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)}MiB` : `${bytes}B`;
}
