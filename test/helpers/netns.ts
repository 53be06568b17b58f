// Private network namespaces for tests: unique names, a veth pair between a "server" and
// a "client" namespace (optionally more), and teardown that always runs. Deleting a
// namespace destroys the veth end inside it and kills nothing else: processes started
// in it are killed by the test that started them (by PID) before teardown.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface VethPair {
  /** Namespace and interface names of each end. */
  serverNs: string;
  clientNs: string;
  serverIf: string;
  clientIf: string;
  serverIp: string;
}

const made = new Set<string>();

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function uniqueTag(): string {
  return `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
}

export function createNs(name: string): string {
  ip('netns', 'add', name);
  made.add(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/**
 * Two namespaces joined by a veth pair; the server end gets `serverCidr` (e.g.
 * 10.77.0.1/24), the client end no address (DHCP gives it one).
 */
export function vethPair(serverCidr: string, prefix = 'pxt'): VethPair {
  const tag = uniqueTag();
  const serverNs = createNs(`${prefix}s-${tag}`);
  const clientNs = createNs(`${prefix}c-${tag}`);
  // Interface names are limited to 15 bytes.
  const serverIf = `vs${tag}`.slice(0, 15);
  const clientIf = `vc${tag}`.slice(0, 15);
  ip(
    'link',
    'add',
    serverIf,
    'netns',
    serverNs,
    'type',
    'veth',
    'peer',
    'name',
    clientIf,
    'netns',
    clientNs,
  );
  ip('-n', serverNs, 'addr', 'add', serverCidr, 'dev', serverIf);
  ip('-n', serverNs, 'link', 'set', serverIf, 'up');
  ip('-n', clientNs, 'link', 'set', clientIf, 'up');
  return { serverNs, clientNs, serverIf, clientIf, serverIp: serverCidr.split('/')[0]! };
}

/** Adds an interface with an address to an existing namespace pair (relay side etc.). */
export function nsExecSync(ns: string, argv: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

export function nsSpawn(
  ns: string,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

/** Removes namespaces this process created (idempotent; safe in afterAll and finally). */
export function removeNs(...names: string[]): void {
  for (const n of names) {
    try {
      ip('netns', 'del', n);
    } catch {
      /* already gone */
    }
    made.delete(n);
  }
}

export function removeAllNs(): void {
  removeNs(...made);
}

// A crashed test must not leave namespaces behind.
process.once('exit', removeAllNs);
