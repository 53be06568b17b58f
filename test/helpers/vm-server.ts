// The VM harness's HTTP server, on the host's loopback. Under qemu's user-mode network
// the guest reaches it as 10.0.2.2: live-boot fetches the squashfs from it, the
// harness hook fetches the bundle under test and the script, and POSTs the result back.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VmResultPost {
  exitCode: number;
  output: string;
}

export interface VmServer {
  port: number;
  /** Resolves when the guest POSTs /result. */
  result: Promise<VmResultPost>;
  /** ms since the server started at which the guest fetched the script, if it did. */
  scriptFetchedAt(): number | undefined;
  /** Paths the guest asked for, in order (for diagnostics). */
  requests: string[];
  close(): Promise<void>;
}

export interface VmServerFiles {
  /** URL path (e.g. `/root.squashfs`) → file on the host. */
  files: Record<string, string>;
  /** URL path → content. */
  texts: Record<string, string>;
}

export async function startVmServer(content: VmServerFiles): Promise<VmServer> {
  const started = Date.now();
  let scriptAt: number | undefined;
  const requests: string[] = [];
  let resolveResult!: (r: VmResultPost) => void;
  const result = new Promise<VmResultPost>((resolve) => (resolveResult = resolve));

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://guest');
    requests.push(`${req.method} ${url.pathname}`);
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        const exitCode = Number.parseInt(url.searchParams.get('exit') ?? '', 10);
        resolveResult({
          exitCode: Number.isInteger(exitCode) ? exitCode : -1,
          output: Buffer.concat(chunks).toString('utf8'),
        });
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/script') scriptAt = Date.now() - started;
    // Only the exact names registered are served: nothing from the network picks a path.
    const text = content.texts[url.pathname];
    if (text !== undefined) {
      res.writeHead(200, {
        'Content-Type': 'text/plain',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    const file = content.files[url.pathname];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    stat(file).then(
      (st) => {
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': st.size,
        });
        if (req.method === 'HEAD') res.end();
        else
          createReadStream(file)
            .on('error', () => res.destroy())
            .pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    result,
    scriptFetchedAt: () => scriptAt,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
