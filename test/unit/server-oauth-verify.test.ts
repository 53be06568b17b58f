import { describe, expect, it } from 'vitest';
import { authorizationHeader } from '../../src/oauth/plaintext.js';
import { verifyOAuth } from '../../src/server/http/oauth-verify.js';
import { HttpError } from '../../src/server/http/core.js';

const creds = {
  consumerKey: 'ck-1234567890',
  tokenKey: 'tk-1234567890',
  tokenSecret: 's3cr3t/with+chars',
};
const lookup = (tk: string) =>
  tk === creds.tokenKey
    ? { nodeId: 'node1', consumerKey: creds.consumerKey, tokenSecret: creds.tokenSecret }
    : undefined;

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof HttpError ? e.status : -1;
  }
}

describe('server-side OAuth PLAINTEXT', () => {
  it('accepts a correctly signed header and names the node', () => {
    expect(verifyOAuth(authorizationHeader(creds), lookup)?.nodeId).toBe('node1');
  });
  it('treats a missing header as anonymous', () => {
    expect(verifyOAuth(undefined, lookup)).toBeUndefined();
  });
  it('refuses a wrong secret, wrong consumer key, unknown token, non-OAuth header with 401', () => {
    expect(
      status(() => verifyOAuth(authorizationHeader({ ...creds, tokenSecret: 'x' }), lookup)),
    ).toBe(401);
    expect(
      status(() => verifyOAuth(authorizationHeader({ ...creds, consumerKey: 'other' }), lookup)),
    ).toBe(401);
    expect(
      status(() => verifyOAuth(authorizationHeader({ ...creds, tokenKey: 'nope' }), lookup)),
    ).toBe(401);
    expect(status(() => verifyOAuth('Bearer abc', lookup))).toBe(401);
  });
  it('enforces the 300 s timestamp window both ways and sends Date on the 401', () => {
    const now = Date.now();
    expect(verifyOAuth(authorizationHeader(creds, now - 290_000), lookup, now)?.nodeId).toBe(
      'node1',
    );
    try {
      verifyOAuth(authorizationHeader(creds, now + 310_000), lookup, now);
      expect.unreachable();
    } catch (e) {
      expect((e as HttpError).status).toBe(401);
      expect((e as HttpError).headers.Date).toMatch(/GMT$/);
      expect((e as HttpError).message).toMatch(/3(09|10) s off/);
    }
  });
  it('refuses HMAC-SHA1 (only PLAINTEXT is spoken)', () => {
    const h = authorizationHeader(creds).replace('PLAINTEXT', 'HMAC-SHA1');
    expect(status(() => verifyOAuth(h, lookup))).toBe(401);
  });
});

describe('parseOAuthParams (the hot-path parser)', () => {
  it('agrees with the reference parser on signed headers and odd spacing', async () => {
    const { parseAuthorizationHeader } = await import('../../src/oauth/plaintext.js');
    const { parseOAuthParams } = await import('../../src/server/http/oauth-verify.js');
    for (const h of [
      authorizationHeader(creds),
      'OAuth oauth_token="a%2Fb", oauth_signature="%26x",oauth_consumer_key=ck',
      '  OAuth realm="", oauth_nonce="1"',
    ]) {
      const ref = parseAuthorizationHeader(h)!;
      const kept = [
        'oauth_consumer_key',
        'oauth_token',
        'oauth_signature',
        'oauth_signature_method',
        'oauth_timestamp',
      ] as const;
      expect(parseOAuthParams(h)).toEqual(Object.fromEntries(kept.map((k) => [k, ref[k]])));
    }
    expect(parseOAuthParams('Bearer x')).toBeUndefined();
    expect(parseOAuthParams('OAuth oauth_token="%E0%A4%A"')).toBeUndefined();
  });
});
