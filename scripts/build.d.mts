export function buildBundle(opts?: { outfile?: string; minify?: boolean }): Promise<string>;
