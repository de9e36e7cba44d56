/** A signal for one SDK request that follows the caller's until released. */
export interface FollowedSignal {
  signal: AbortSignal;
  /** Stops following; call once the request has ended. */
  release(): void;
}

/**
 * A signal of one SDK request's own, aborted when `source` aborts. Never the caller's signal
 * itself: the SDK adds an abort listener to the signal it is given and never removes it, and Node
 * keeps a composite (`AbortSignal.any`) or timeout signal alive while it has listeners, so every
 * call would leak. Released, this one is garbage.
 */
export function followSignal(source: AbortSignal): FollowedSignal {
  const own = new AbortController();
  if (source.aborted) {
    own.abort(source.reason);
    return { signal: own.signal, release: () => undefined };
  }
  const forward = (): void => own.abort(source.reason);
  source.addEventListener('abort', forward, { once: true });
  return { signal: own.signal, release: () => source.removeEventListener('abort', forward) };
}
