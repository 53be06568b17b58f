// Server side of OAuth 1.0 PLAINTEXT as MAAS checks it: the token names the node, the
// signature must be `consumer_secret&token_secret` (consumer secret empty), and the
// timestamp must be within 300 s so a captured header is not good forever.
import { plaintextSignature, safeEqual } from '../../oauth/plaintext.js';
import { HttpError } from './core.js';

export const TIMESTAMP_WINDOW_S = 300;

export interface TokenOwner {
  nodeId: string;
  consumerKey: string;
  tokenSecret: string;
  /** The expected PLAINTEXT signature, when the caller has it precomputed. */
  signature?: string;
}

/**
 * Parses `OAuth k="v", ...` (the same grammar as src/oauth/plaintext.ts's parser) with
 * indexOf instead of regexes: it runs on every metadata request. Undefined when not OAuth.
 */
export function parseOAuthParams(header: string): Record<string, string> | undefined {
  let i = 0;
  while (header.charCodeAt(i) === 32) i++;
  if (header.slice(i, i + 5).toLowerCase() !== 'oauth' || header.charCodeAt(i + 5) !== 32)
    return undefined;
  const out: Record<string, string> = {};
  for (const part of header.slice(i + 6).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34)
      v = v.slice(1, -1);
    if (v.includes('%')) {
      try {
        v = decodeURIComponent(v);
      } catch {
        return undefined;
      }
    }
    out[k] = v;
  }
  return out;
}

function unauthorized(reason: string): HttpError {
  // Date lets cloud-init correct its clock skew and retry (node:http also sends one;
  // this makes the contract explicit).
  return new HttpError(401, reason, {
    Date: new Date().toUTCString(),
    'WWW-Authenticate': 'OAuth realm="pxm"',
  });
}

/**
 * Returns undefined for a request without an OAuth header (anonymous), the node for a
 * valid one, and throws 401 for an invalid one.
 */
export function verifyOAuth(
  header: string | undefined,
  lookup: (tokenKey: string) => TokenOwner | undefined,
  nowMs = Date.now(),
): TokenOwner | undefined {
  if (!header) return undefined;
  const p = parseOAuthParams(header);
  if (!p) throw unauthorized('Authorization is not OAuth');
  const { oauth_consumer_key: ck, oauth_token: tk, oauth_signature: sig } = p;
  if (!ck || !tk || sig === undefined)
    throw unauthorized('OAuth header lacks consumer key, token or signature');
  if ((p.oauth_signature_method ?? 'PLAINTEXT').toUpperCase() !== 'PLAINTEXT')
    throw unauthorized('only the PLAINTEXT OAuth signature method is supported');
  const ts = Number(p.oauth_timestamp);
  if (!Number.isFinite(ts)) throw unauthorized('OAuth timestamp missing');
  const skew = Math.round(ts - nowMs / 1000);
  if (Math.abs(skew) > TIMESTAMP_WINDOW_S)
    throw unauthorized(
      `OAuth timestamp is ${skew} s off the server clock (window ${TIMESTAMP_WINDOW_S} s)`,
    );
  const owner = lookup(tk);
  // Compare even for unknown tokens so timing does not tell which tokens exist.
  const expected = owner?.signature ?? plaintextSignature('', owner?.tokenSecret ?? 'x'.repeat(24));
  const sigOk = safeEqual(sig, expected);
  const ckOk = safeEqual(ck, owner?.consumerKey ?? '');
  if (!owner || !sigOk || !ckOk) throw unauthorized('invalid OAuth credentials');
  return owner;
}
