import { CadreError } from './errors.js';

/** Throws a `cancelled` CadreError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal);
}

/** The error a cancelled operation ends with, carrying the abort reason when there is one. */
export function cancelledError(signal: AbortSignal): CadreError {
  const reason: unknown = signal.reason;
  if (CadreError.isInstance(reason)) return reason;
  const text = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'cancelled';
  return new CadreError('cancelled', `Cancelled: ${text}`, { details: { reason: text } });
}

/** Races a promise against a signal, so a caller stops waiting as soon as it is cancelled. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
