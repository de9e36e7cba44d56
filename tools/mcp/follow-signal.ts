/** A signal for one SDK request that follows the caller's until released. */
export interface FollowedSignal {
  signal: AbortSignal;
  /** Stops following; call once the request has ended. */
  release(): void;
}

// Signals that live exactly as long as one call (the executor makes one per tool call): nothing
// holds them after it, so whatever the SDK leaves listening on them is garbage with them.
const oneCall = new WeakSet<AbortSignal>();
const nothing = (): void => undefined;
const unfollowed = (signal: AbortSignal): FollowedSignal => ({ signal, release: nothing });

/** Marks a signal made for one call only, which `followSignal` then hands on as it is. */
export function endsWithCall(signal: AbortSignal): AbortSignal {
  oneCall.add(signal);
  return signal;
}

/**
 * A signal of one SDK request's own, aborted when `source` aborts. Never the caller's signal
 * itself: the SDK adds an abort listener to the signal it is given and never removes it, and Node
 * keeps a composite (`AbortSignal.any`) or timeout signal alive while it has listeners, so every
 * call would leak. Released, this one is garbage. A signal marked with `endsWithCall` is already
 * one of that kind and is used as it is, sparing an `AbortController` and a listener per call.
 */
export function followSignal(source: AbortSignal): FollowedSignal {
  if (oneCall.has(source)) return unfollowed(source);
  const own = new AbortController();
  if (source.aborted) {
    own.abort(source.reason);
    return unfollowed(own.signal);
  }
  const forward = (): void => own.abort(source.reason);
  source.addEventListener('abort', forward, { once: true });
  return { signal: own.signal, release: () => source.removeEventListener('abort', forward) };
}
