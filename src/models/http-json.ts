import { CadreError } from '../core/index.js';

export interface JsonRequestOptions {
  headers?: Record<string, string>;
  /** Default 2000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** GETs JSON with a hard timeout, so probing a silent host never hangs. */
export function getJson(url: string, options: JsonRequestOptions = {}): Promise<unknown> {
  return requestJson(url, { method: 'GET' }, options);
}

/** POSTs a JSON body and reads JSON back, with the same timeout and errors as `getJson`. */
export function postJson(url: string, body: unknown, options: JsonRequestOptions = {}): Promise<unknown> {
  return requestJson(
    url,
    { method: 'POST', body: JSON.stringify(body) },
    { ...options, headers: { 'content-type': 'application/json', ...options.headers } },
  );
}

/** Errors carry `details.status` for an HTTP error, so callers can tell a 404 from a failing server. */
async function requestJson(
  url: string,
  init: { method: string; body?: string },
  options: JsonRequestOptions,
): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: options.headers, signal });
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs ?? 2000} ms` : describeFetchError(error);
    throw new CadreError('provider_error', `${url}: ${reason}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    const code = response.status === 401 || response.status === 403 ? 'model_unavailable' : 'provider_error';
    throw new CadreError(code, `${url}: HTTP ${response.status}`, { details: { status: response.status } });
  }
  return response.json();
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
