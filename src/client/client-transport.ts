import { CadreError, type ErrorCode } from '../core/errors.js';

/** Where and as whom a client talks to a cadre server. */
export interface ClientOptions {
  /** The server's address, such as `http://127.0.0.1:7700`. */
  baseURL: string;
  /** An API key from `cadre keys create`; sent as a Bearer token, never in the URL. */
  apiKey: string;
  /** The end user a shared key acts for: runs (and later threads) are scoped to them. */
  user?: string;
  /** The fetch to use (default the global one): for tests, proxies and custom agents. */
  fetch?: typeof fetch;
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

/** One configured connection to the server; each resource (runs, threads) sends its requests through it. */
export interface ClientTransport {
  /** Sends a request and returns the raw response; a network failure throws `unavailable`. */
  send(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response>;
  /** Sends a request and parses its JSON answer; an error answer throws a CadreError with the server's code. */
  json<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
}

/** Builds the transport shared by a client's resources. */
export function createTransport(options: ClientOptions): ClientTransport {
  const base = options.baseURL.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const common: Record<string, string> = {
    ...options.headers,
    Authorization: `Bearer ${options.apiKey}`,
    ...(options.user !== undefined ? { 'X-Cadre-User': options.user } : {}),
  };
  const send: ClientTransport['send'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...common, ...init.headers };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetchImpl(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new CadreError('unavailable', `Cannot reach ${base}: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    send,
    json: async <T>(path: string, init: { method?: string; body?: unknown } = {}) => {
      const response = await send(path, init);
      if (!response.ok) throw await errorOf(response);
      return (await response.json()) as T;
    },
  };
}

/** The server's error answer as a CadreError with its code; the HTTP status is in `details.status`. */
export async function errorOf(response: Response): Promise<CadreError> {
  const text = await response.text().catch(() => '');
  let body: { error?: { code?: string; message?: string } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const code = (body?.error?.code ?? (response.status >= 500 ? 'unavailable' : 'input_invalid')) as ErrorCode;
  const message = body?.error?.message ?? `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const retryAfter = Number(response.headers.get('Retry-After'));
  return new CadreError(code, message, {
    details: { status: response.status, ...(retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}) },
  });
}
