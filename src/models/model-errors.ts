import { CadreError } from '../core/index.js';
import type { ModelRef } from './model-ref.js';

type Loose = {
  status?: number;
  status_code?: number;
  response?: { status?: number };
  headers?: unknown;
  name?: string;
  code?: string;
  cause?: unknown;
  message?: string;
};

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  return record[name] ?? record[name.toLowerCase()];
}

/** Milliseconds the server asked us to wait (Retry-After seconds or HTTP date, or retry-after-ms). */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const ms = headerOf(headers, 'retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headerOf(headers, 'retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Maps whatever a client library threw to a CadreError with a stable code. */
export function toModelError(error: unknown, ref?: Pick<ModelRef, 'provider' | 'model'>): CadreError {
  if (CadreError.isInstance(error)) return error;
  const e = (error ?? {}) as Loose;
  const where = ref ? `${ref.provider}:${ref.model}` : 'model';
  const status = e.status ?? e.status_code ?? e.response?.status;
  const message = e.message ?? String(error);
  const details: Record<string, unknown> = {
    ...(ref ? { provider: ref.provider, model: ref.model } : {}),
    ...(status ? { status } : {}),
  };
  if (e.name === 'AbortError' || /abort/i.test(e.name ?? '') || /aborted/i.test(message)) {
    return new CadreError('cancelled', `Cancelled: call to ${where} aborted`, { cause: error, details });
  }
  if (status === 429) {
    const wait = retryAfterMs(e.headers);
    return new CadreError('rate_limited', `${where} is rate limited: ${message}`, {
      cause: error,
      details: { ...details, ...(wait !== undefined ? { retryAfterMs: wait } : {}) },
    });
  }
  if (status === 401 || status === 403 || status === 404) {
    return new CadreError('model_unavailable', `${where} refused the call (HTTP ${status}): ${message}`, {
      cause: error,
      details,
    });
  }
  if (status !== undefined && status >= 500)
    return new CadreError('provider_error', `${where} failed (HTTP ${status}): ${message}`, { cause: error, details });
  if (status !== undefined && status >= 400)
    return new CadreError('model_failed', `${where} rejected the request (HTTP ${status}): ${message}`, {
      cause: error,
      details,
    });
  const code = (e.cause as { code?: string } | undefined)?.code ?? e.code;
  if (code && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN|UND_ERR/.test(code)) {
    return new CadreError('provider_error', `${where} is not reachable (${code})`, { cause: error, details });
  }
  if (/connection error|fetch failed/i.test(message))
    return new CadreError('provider_error', `${where} is not reachable: ${message}`, { cause: error, details });
  return new CadreError('model_failed', `${where} failed: ${message}`, { cause: error, details });
}
