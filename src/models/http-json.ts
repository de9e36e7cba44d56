import { CadreError } from '../core/index.js';

/** GETs JSON with a hard timeout, so probing a silent host never hangs. */
export async function getJson(url: string, options: { headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers, signal });
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs ?? 2000} ms` : describeFetchError(error);
    throw new CadreError('provider_error', `${url}: ${reason}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CadreError(response.status === 401 || response.status === 403 ? 'model_unavailable' : 'provider_error', `${url}: HTTP ${response.status}`);
  }
  return response.json();
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
