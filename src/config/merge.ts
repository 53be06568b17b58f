// curtin's merge rule, with provenance.
//
// curtin (curtin/config.py merge_config): when the old and the new value are both
// mappings they merge key by key, recursively; anything else (list, scalar, null) replaces
// the old value whole. pxm also remembers which source (a file, or `--set ...`) last set
// each key path, so that a schema error can name the file the bad value came from.

export type ConfigValue = unknown;
export type ConfigMap = Record<string, unknown>;

/** key path ("a/b/c") -> label of the source that set it last ("conf.yaml", "--set a/b=c"). */
export type Provenance = Map<string, string>;

export function isMapping(v: unknown): v is ConfigMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges `overlay` into `base` in place (as curtin does) and records in `prov` the
 * source of every key path the overlay sets. Returns `base`.
 */
export function mergeInto(
  base: ConfigMap,
  overlay: ConfigMap,
  label: string,
  prov: Provenance,
  prefix = '',
): ConfigMap {
  for (const [key, value] of Object.entries(overlay)) {
    const path = prefix ? `${prefix}/${key}` : key;
    const old = base[key];
    if (isMapping(old) && isMapping(value)) {
      prov.set(path, label);
      mergeInto(old, value, label, prov, path);
    } else {
      // Replacement: whatever was below this path came from elsewhere and is gone now.
      forgetBelow(prov, path);
      base[key] = cloneValue(value);
      recordAll(prov, path, value, label);
    }
  }
  return base;
}

function forgetBelow(prov: Provenance, path: string): void {
  const below = `${path}/`;
  for (const k of [...prov.keys()]) if (k.startsWith(below)) prov.delete(k);
}

function recordAll(prov: Provenance, path: string, value: unknown, label: string): void {
  prov.set(path, label);
  if (isMapping(value)) {
    for (const [k, v] of Object.entries(value)) recordAll(prov, `${path}/${k}`, v, label);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => recordAll(prov, `${path}/${i}`, v, label));
  }
}

/** The source that set `path`, or of its nearest ancestor that has one. */
export function sourceOf(prov: Provenance, path: string): string | undefined {
  let p = path;
  while (p) {
    const hit = prov.get(p);
    if (hit) return hit;
    const cut = p.lastIndexOf('/');
    p = cut < 0 ? '' : p.slice(0, cut);
  }
  return undefined;
}

export function cloneValue<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}
