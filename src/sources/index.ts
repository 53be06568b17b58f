// Public API of the sources module, for the install engine (src/stages).
export { extractSources, checkTargetInstallable, type ExtractSourcesOptions } from './extract.js';
export {
  writeFiles,
  parseWriteFiles,
  type WriteFilesOptions,
  type WriteFileEntry,
} from './write-files.js';
export {
  parseSources,
  parseSourceString,
  parseSourceEntry,
  sourceAction,
  displayUri,
  SOURCE_TYPES,
  type SourceSpec,
  type SourceType,
  type SourceLocation,
} from './spec.js';
export { ChecksumMismatchError } from './meter.js';
export type { ProxyConfig } from './fetch.js';
export { detectCompression, type Compression } from './sniff.js';
export { resolveInTarget } from './confine.js';
