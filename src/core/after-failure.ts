/**
 * `attempt` for a retry policy to run once a first attempt, made without the policy, has failed with
 * `error`: the policy's first try rejects with that same error, so the policy decides on it as on any
 * failure (retry or give up) and waits its backoff before the next real attempt. Calls that usually
 * succeed thus skip the cost of running the policy at all.
 */
export function afterFailure<A extends unknown[], T>(
  error: unknown,
  attempt: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  let replayed = false;
  return (...args) => {
    if (replayed) return attempt(...args);
    replayed = true;
    return Promise.reject(error as Error);
  };
}
