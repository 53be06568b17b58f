// Random identifiers and secrets for nodes and the admin API.
import { randomBytes, randomInt } from 'node:crypto';

// No look-alikes (0/o, 1/l/i): ids are read aloud and typed.
const ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A short node id (6 chars, ~29 bits): unique within one controller, not a secret. */
export function newNodeId(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return s;
}

/** 144 random bits, URL- and OAuth-safe (base64url needs no percent-encoding). */
export function newSecret(): string {
  return randomBytes(18).toString('base64url');
}

export function newCredentials(): { consumerKey: string; tokenKey: string; tokenSecret: string } {
  return { consumerKey: newSecret(), tokenKey: newSecret(), tokenSecret: newSecret() };
}

/**
 * Admin API key: 256 random bits after a `pxm_` prefix. Without the prefix one key in 64
 * began with '-', and `pxm login URL "$(pxm apikey)"` read it as an option and failed; the
 * prefix also lets secret scanners recognise a leaked key.
 */
export function newApiKey(): string {
  return `pxm_${randomBytes(32).toString('base64url')}`;
}
