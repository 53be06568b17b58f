// Builds the handlers named under `reporting:` (curtin's handler config).
import type { ReportHandler } from './events.js';
import type { InstallLog } from './install-log.js';
import { PrintHandler } from './handlers/print.js';
import { WebhookHandler, webhookCredentials } from './handlers/webhook.js';

export interface HandlerDeps {
  log: InstallLog;
  /** Where `print` writes: stdout, or stderr when stdout carries JSON lines. */
  console: NodeJS.WritableStream;
  /** Problems worth a line on the console and in the log (never secrets). */
  warn: (message: string) => void;
}

/**
 * One handler per entry under `reporting:`. The install log always gets a log handler
 * (curtin's default), so `type: log` entries add nothing; `journald` is not implemented
 * and says so.
 */
export function handlersFromConfig(reporting: unknown, deps: HandlerDeps): ReportHandler[] {
  const out: ReportHandler[] = [];
  if (!reporting || typeof reporting !== 'object') return out;
  for (const [name, raw] of Object.entries(reporting as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue; // null disables a handler, as in curtin
    const cfg = raw as Record<string, unknown>;
    switch (cfg.type) {
      case 'print':
        out.push(new PrintHandler(deps.console));
        break;
      case 'webhook':
        out.push(
          new WebhookHandler({
            endpoint: String(cfg.endpoint),
            credentials: webhookCredentials(cfg),
            onError: (m) => deps.log.line(`reporting/${name}: ${m}`),
          }),
        );
        break;
      case 'log':
        break;
      default:
        deps.warn(
          `reporting/${name}: handler type ${String(cfg.type)} is not supported by pxm; ignored`,
        );
    }
  }
  return out;
}
