import { createHmac } from 'node:crypto';
import type { Logger } from '../core/index.js';
import type { WebhookMessage, WebhookOutbox } from './webhook-outbox.js';

/**
 * The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` under the secret's bytes (the base64 after `whsec_`).
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** How webhook messages are delivered. */
export interface WebhookSenderOptions {
  outbox: WebhookOutbox;
  secret: string;
  /** Attempts before a message is given up as failed; default 10 (about 17 minutes of backoff). */
  maxAttempts?: number;
  /** How long one POST may take; default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

/**
 * Delivers due webhook messages: a POST with the Standard Webhooks headers, the same `webhook-id` on
 * every attempt; a 2xx answer delivers it, anything else is tried again after 1 s, 2 s, 4 s … (at most
 * an hour) until `maxAttempts`.
 */
export function createWebhookSender(options: WebhookSenderOptions) {
  const maxAttempts = options.maxAttempts ?? 10;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send = options.fetch ?? fetch;
  const inFlight = new Set<string>();

  const deliver = async (message: WebhookMessage): Promise<void> => {
    const timestamp = Math.floor(Date.now() / 1000);
    let error: string;
    try {
      const response = await send(message.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': message.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(options.secret, message.id, timestamp, message.body),
        },
        body: message.body,
        redirect: 'manual', // a redirect could lead off the allowed hosts
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) return options.outbox.finish(message.id, 'delivered', Date.now());
      error = `HTTP ${response.status}`;
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
    }
    if (message.attempts >= maxAttempts) {
      options.logger?.warn({ webhook: message.id, job: message.jobId, error }, 'webhook given up');
      return options.outbox.finish(message.id, 'failed', Date.now(), error);
    }
    const wait = Math.min(1000 * 2 ** (message.attempts - 1), 3_600_000);
    options.outbox.retryAt(message.id, Date.now() + wait, error);
  };

  return {
    /** Claims and starts delivering what is due; resolves when those deliveries have ended. */
    async deliverDue(now = Date.now()): Promise<number> {
      const messages = options.outbox.claimDue(now, 16, timeoutMs * 2).filter((m) => !inFlight.has(m.id));
      await Promise.all(
        messages.map(async (message) => {
          inFlight.add(message.id);
          try {
            await deliver(message);
          } finally {
            inFlight.delete(message.id);
          }
        }),
      );
      return messages.length;
    },
  };
}
