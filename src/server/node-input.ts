// Validation of node fields arriving from the network (admin API, enlistment). Errors
// name the field, so an operator sees which value was wrong.
import { isIP } from 'node:net';
import { ValidationError } from '../util/errors.js';

export function normaliseMac(where: string, mac: string): string {
  const hex = mac.trim().toLowerCase().replace(/[-:.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex))
    throw new ValidationError(where, `not a MAC address: ${JSON.stringify(mac)}`);
  return hex.match(/../g)!.join(':');
}

export function checkHostname(where: string, name: string): string {
  const h = name.trim().toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(h)) {
    throw new ValidationError(
      where,
      `not a valid host name (one DNS label, a-z 0-9 -): ${JSON.stringify(name)}`,
    );
  }
  return h;
}

export function checkDomain(where: string, name: string): string {
  const d = name.trim().toLowerCase();
  if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(d)) {
    throw new ValidationError(where, `not a valid domain: ${JSON.stringify(name)}`);
  }
  return d;
}

export function checkArchitecture(where: string, arch: string): string {
  // MAAS form `amd64/generic`; a bare `amd64` gets the generic subarchitecture.
  const a = arch.trim();
  if (!/^[a-z0-9_]+(\/[a-z0-9_.-]+)?$/.test(a))
    throw new ValidationError(where, `not an architecture: ${JSON.stringify(arch)}`);
  return a.includes('/') ? a : `${a}/generic`;
}

export function checkIp(where: string, ip: string): string {
  if (!isIP(ip)) throw new ValidationError(where, `not an IP address: ${JSON.stringify(ip)}`);
  return ip;
}

export function checkSshKey(where: string, key: string): string {
  const k = key.trim();
  if (!/^(ssh-|ecdsa-|sk-)[\w@.-]+ [A-Za-z0-9+/=]+( .*)?$/.test(k) || k.includes('\n')) {
    throw new ValidationError(where, 'not an OpenSSH public key line');
  }
  return k;
}
