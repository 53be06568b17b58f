// Server side of OAuth 1.0 PLAINTEXT as MAAS checks it: the token names the node, the
// signature must be `consumer_secret&token_secret` (consumer secret empty), and the
// timestamp must be within 300 s so a captured header is not good forever.
import { timingSafeEqual } from 'node:crypto';
import { plaintextSignature } from '../../oauth/plaintext.js';
import { HttpError } from './core.js';

export const TIMESTAMP_WINDOW_S = 300;

export interface TokenOwner {
  nodeId: string;
  consumerKey: string;
  tokenSecret: string;
  /** `expectedCredential(this)`, when the caller keeps it (NodeSnapshots does). */
  credential?: Buffer;
}

/**
 * What a request must present: `consumer_key LF signature` (LF cannot occur in a header
 * value), the signature being PLAINTEXT's `&token_secret` (empty consumer secret).
 */
export function expectedCredential(o: { consumerKey: string; tokenSecret: string }): Buffer {
  return Buffer.from(`${o.consumerKey}\n${plaintextSignature('', o.tokenSecret)}`);
}

const UNKNOWN_TOKEN = expectedCredential({
  consumerKey: 'x'.repeat(18),
  tokenSecret: 'x'.repeat(32),
});

/** The OAuth parameters verifyOAuth reads; others (nonce, version, realm) are skipped. */
export interface OAuthFields {
  oauth_consumer_key?: string;
  oauth_token?: string;
  oauth_signature?: string;
  oauth_signature_method?: string;
  oauth_timestamp?: string;
}

/**
 * Parses `OAuth k="v", ...` (the same grammar as src/oauth/plaintext.ts's parser) with a
 * scanner into fixed fields: it runs on every metadata request, and a dictionary keyed
 * by the header's own strings cost more than the rest of the check. Undefined when not
 * OAuth or a kept value's percent-encoding is broken.
 */
export function parseOAuthParams(header: string): OAuthFields | undefined {
  const n = header.length;
  let i = 0;
  while (i < n && header.charCodeAt(i) === 32) i++;
  if (header.slice(i, i + 5).toLowerCase() !== 'oauth' || header.charCodeAt(i + 5) !== 32)
    return undefined;
  const out: OAuthFields = {
    oauth_consumer_key: undefined,
    oauth_token: undefined,
    oauth_signature: undefined,
    oauth_signature_method: undefined,
    oauth_timestamp: undefined,
  };
  for (let p = i + 6; p < n;) {
    let end = header.indexOf(',', p);
    if (end < 0) end = n;
    const eq = header.indexOf('=', p);
    if (eq >= 0 && eq < end) {
      const k = spaceTrimmed(header, p, eq);
      // Stores by literal name: a store keyed by the header's own string costs a string
      // table lookup per parameter.
      const field =
        k === 'oauth_consumer_key'
          ? 1
          : k === 'oauth_token'
            ? 2
            : k === 'oauth_signature'
              ? 3
              : k === 'oauth_signature_method'
                ? 4
                : k === 'oauth_timestamp'
                  ? 5
                  : 0;
      if (field !== 0) {
        let a = eq + 1;
        let b = end;
        while (a < b && header.charCodeAt(a) === 32) a++;
        while (b > a && header.charCodeAt(b - 1) === 32) b--;
        if (b - a >= 2 && header.charCodeAt(a) === 34 && header.charCodeAt(b - 1) === 34) {
          a++;
          b--;
        }
        let v = header.slice(a, b);
        if (v.includes('%')) {
          try {
            v = decodeURIComponent(v);
          } catch {
            return undefined;
          }
        }
        if (field === 1) out.oauth_consumer_key = v;
        else if (field === 2) out.oauth_token = v;
        else if (field === 3) out.oauth_signature = v;
        else if (field === 4) out.oauth_signature_method = v;
        else out.oauth_timestamp = v;
      }
    }
    p = end + 1;
  }
  return out;
}

function spaceTrimmed(s: string, a: number, b: number): string {
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return s.slice(a, b);
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
  // One constant-time comparison of key and signature together; an unknown token is
  // compared too, so timing does not tell which tokens exist.
  const expected = owner ? (owner.credential ?? expectedCredential(owner)) : UNKNOWN_TOKEN;
  const got = Buffer.from(`${ck}\n${sig}`);
  if (!owner || got.length !== expected.length || !timingSafeEqual(got, expected))
    throw unauthorized('invalid OAuth credentials');
  return owner;
}
