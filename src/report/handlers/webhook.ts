// `type: webhook`: each event POSTed as JSON, in order, signed with OAuth 1.0 PLAINTEXT
// when keys are configured (what MAAS's /MAAS/metadata/status/<system_id> expects).
// Delivery failures are written to the install log and never fail the install.
import { request } from 'undici';
import { authorizationHeader, type OAuthCredentials } from '../../oauth/plaintext.js';
import type { ReportEvent, ReportHandler } from '../events.js';

export interface WebhookOptions {
  endpoint: string;
  credentials?: OAuthCredentials;
  /** Where delivery problems are reported (the install log); never the secrets. */
  onError?: (message: string) => void;
  timeoutMs?: number;
}

export class WebhookHandler implements ReportHandler {
  private queue: Promise<void> = Promise.resolve();
  constructor(private readonly opts: WebhookOptions) {}

  publish(ev: ReportEvent): Promise<void> {
    // Sequential: the server must see start before finish, and the final event last.
    this.queue = this.queue.then(() => this.post(ev));
    return this.queue;
  }

  flush(): Promise<void> {
    return this.queue;
  }

  private async post(ev: ReportEvent): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.credentials) headers.authorization = authorizationHeader(this.opts.credentials);
    const timeout = this.opts.timeoutMs ?? 10_000;
    try {
      const res = await request(this.opts.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(ev),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await res.body.dump();
      if (res.statusCode >= 300) {
        this.opts.onError?.(`webhook ${this.opts.endpoint}: HTTP ${res.statusCode} for ${ev.name}`);
      }
    } catch (error) {
      const msg = error instanceof Error ? error.message : String(error);
      this.opts.onError?.(`webhook ${this.opts.endpoint}: ${msg} (event ${ev.name})`);
    }
  }
}

/** OAuth credentials from a curtin webhook handler config, when its keys are present. */
export function webhookCredentials(cfg: Record<string, unknown>): OAuthCredentials | undefined {
  const s = (k: string): string | undefined =>
    typeof cfg[k] === 'string' ? (cfg[k] as string) : undefined;
  const consumerKey = s('consumer_key');
  const tokenKey = s('token_key');
  const tokenSecret = s('token_secret');
  if (!consumerKey || !tokenKey || tokenSecret === undefined) return undefined;
  return { consumerKey, tokenKey, tokenSecret, consumerSecret: s('consumer_secret') ?? '' };
}
