// Opens a source's bytes as a stream: a local file, or an HTTP(S) response body read
// with undici while it downloads. Nothing is staged on disk.
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PxmError } from '../util/errors.js';
import type { SourceSpec } from './spec.js';

/** curtin's `proxy:` config keys; the engine passes them through unchanged. */
export interface ProxyConfig {
  http_proxy?: string;
  https_proxy?: string;
  no_proxy?: string;
}

export interface OpenedSource {
  stream: Readable;
  /** Byte count when known (file size, Content-Length), for progress. */
  total: number | undefined;
  /** Releases the connection pool; call after the stream is done or abandoned. */
  close(): Promise<void>;
}

/**
 * Read size per chunk. Large chunks mean fewer writes into tar's pipe and fewer JS
 * callbacks per megabyte; 1 MiB measured best here (docs/benchmarks/extract.md).
 */
export const CHUNK_BYTES = 1 << 20;

export async function openSource(
  spec: SourceSpec,
  opts: { proxy?: ProxyConfig; signal?: AbortSignal } = {},
): Promise<OpenedSource> {
  const loc = spec.location;
  if (loc.kind === 'file') return openFile(spec, loc.path);
  if (loc.kind === 'http') return openHttp(spec, loc.url, opts);
  throw new PxmError(`sources/${spec.key}: a directory source cannot be streamed`);
}

async function openFile(spec: SourceSpec, file: string): Promise<OpenedSource> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new PxmError(`sources/${spec.key}: cannot read ${file}: ${why}`, { cause: e });
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new PxmError(`sources/${spec.key}: ${file} is not a regular file`);
  }
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: true });
  return { stream, total: st.size, close: async () => void stream.destroy() };
}

async function openHttp(
  spec: SourceSpec,
  url: string,
  opts: { proxy?: ProxyConfig; signal?: AbortSignal },
): Promise<OpenedSource> {
  // Loaded on first use: undici is large and most pxm commands never fetch anything.
  const undici = await import('undici');
  const base =
    opts.proxy && (opts.proxy.http_proxy || opts.proxy.https_proxy)
      ? new undici.EnvHttpProxyAgent({
          httpProxy: opts.proxy.http_proxy,
          httpsProxy: opts.proxy.https_proxy ?? opts.proxy.http_proxy,
          noProxy: opts.proxy.no_proxy,
        })
      : new undici.Agent();
  const dispatcher = base.compose(undici.interceptors.redirect({ maxRedirections: 10 }));
  const shown = redact(url);
  let res;
  try {
    res = await undici.request(url, {
      dispatcher,
      method: 'GET',
      // Never let a server compress on the fly: the checksum is of the bytes as stored.
      headers: { 'accept-encoding': 'identity', 'user-agent': 'pxm' },
      highWaterMark: CHUNK_BYTES,
      signal: opts.signal,
    });
  } catch (e) {
    await base.close().catch(() => undefined);
    throw new PxmError(`sources/${spec.key}: GET ${shown} failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => undefined);
    await base.close().catch(() => undefined);
    throw new PxmError(`sources/${spec.key}: GET ${shown}: HTTP ${res.statusCode}`);
  }
  const len = Number(res.headers['content-length']);
  return {
    stream: res.body,
    total: Number.isFinite(len) && len >= 0 ? len : undefined,
    close: () => base.close().catch(() => undefined),
  };
}

/** URL without credentials, for messages and logs. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  return u.href;
}
