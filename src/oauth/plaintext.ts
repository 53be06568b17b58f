// OAuth 1.0 with the PLAINTEXT signature method, as MAAS and cloud-init use it.
// The signature is `consumer_secret&token_secret`, each percent-encoded (RFC 5849 3.4.4);
// no request signing, so it must only travel over links the operator trusts.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface OAuthCredentials {
  consumerKey: string;
  consumerSecret?: string;
  tokenKey: string;
  tokenSecret: string;
}

/** RFC 3986 percent-encoding as OAuth requires (stricter than encodeURIComponent). */
export function oauthEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

export function plaintextSignature(consumerSecret: string, tokenSecret: string): string {
  return `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`;
}

/** The Authorization header value for one request. */
export function authorizationHeader(c: OAuthCredentials, now = Date.now()): string {
  const params: Record<string, string> = {
    oauth_version: '1.0',
    oauth_signature_method: 'PLAINTEXT',
    oauth_consumer_key: c.consumerKey,
    oauth_token: c.tokenKey,
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature: plaintextSignature(c.consumerSecret ?? '', c.tokenSecret),
  };
  return (
    'OAuth ' +
    Object.entries(params)
      .map(([k, v]) => `${k}="${oauthEncode(v)}"`)
      .join(', ')
  );
}

/** Parses `OAuth k="v", ...`; returns undefined when the header is not OAuth. */
export function parseAuthorizationHeader(
  header: string | undefined,
): Record<string, string> | undefined {
  if (!header) return undefined;
  const m = /^OAuth\s+(.*)$/is.exec(header.trim());
  if (!m?.[1]) return undefined;
  const out: Record<string, string> = {};
  for (const part of m[1].split(',')) {
    const kv = /^\s*([\w.-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
    if (!kv?.[1]) continue;
    try {
      out[kv[1]] = decodeURIComponent(kv[2] ?? '');
    } catch {
      return undefined;
    }
  }
  return out;
}

/** Constant-time string comparison (length is not secret: tokens have fixed lengths). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
