import type { BaseMessage, AIMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { DelegateBackoff, handleWhen, retry } from 'cockatiel';
import { CadreError, cancelledError } from '../core/index.js';
import { afterFailure } from '../core/after-failure.js';
import type { ModelRef } from './model-ref.js';
import { toModelError } from './model-errors.js';

/** How often and how patiently a model call is retried after rate limits and server errors. */
export interface RetryOptions {
  /** Extra attempts after the first. Default 3. */
  retries?: number;
  /** First backoff in ms, doubled each time. Default 500. */
  baseDelayMs?: number;
  /** Longest wait, also for a server's Retry-After. Default 30 s. */
  maxDelayMs?: number;
}

const retryable = (e: unknown) =>
  CadreError.isInstance(e) && (e.code === 'rate_limited' || e.code === 'provider_error');

/** What a call gets when its caller gave no signal: one that never aborts, as the retry policy's default. */
const neverAborted = new AbortController().signal;

/** Where a model call goes and how it is retried. */
export interface ModelCallOptions {
  signal?: AbortSignal;
  ref?: Pick<ModelRef, 'provider' | 'model'>;
  retry?: RetryOptions;
}

/**
 * Runs one model call under cadre's retry policy: rate limits and server errors are retried with
 * exponential backoff (or as long as the server's Retry-After says, capped), failures are mapped to
 * CadreErrors. `mayRetry` can refuse a retry, e.g. once a stream has shown part of its reply.
 */
export async function withModelRetry<T>(
  call: (signal: AbortSignal) => Promise<T>,
  options: ModelCallOptions,
  mayRetry: () => boolean = () => true,
): Promise<T> {
  const signal = options.signal ?? neverAborted;
  try {
    // The first attempt runs plainly: most calls succeed at once, and a retry policy built and run
    // for every call costs more than a fast local model's reply takes.
    return await call(signal);
  } catch (thrown) {
    const error = toModelError(thrown, options.ref);
    if (signal.aborted) throw cancelledError(signal);
    if (!(mayRetry() && retryable(error))) throw error;
    // The policy takes over with that failure as its first attempt: the backoff, then the retries.
    return retried(afterFailure(error, call), options, mayRetry);
  }
}

/** The retry policy for a call whose first attempt failed; `call` gives that failure again first. */
async function retried<T>(
  call: (signal: AbortSignal) => Promise<T>,
  options: ModelCallOptions,
  mayRetry: () => boolean,
): Promise<T> {
  const { retries = 3, baseDelayMs = 500, maxDelayMs = 30_000 } = options.retry ?? {};
  const backoff = new DelegateBackoff<{ attempt: number; result: { error?: unknown } | { value: unknown } }>(
    (context) => {
      const error = 'error' in context.result ? context.result.error : undefined;
      const asked = CadreError.isInstance(error) ? (error.details.retryAfterMs as number | undefined) : undefined;
      return Math.min(maxDelayMs, asked ?? baseDelayMs * 2 ** (context.attempt - 1));
    },
  );
  const policy = retry(
    handleWhen((e) => mayRetry() && retryable(e)),
    { maxAttempts: retries, backoff },
  );
  try {
    return await policy.execute(async ({ signal }) => {
      try {
        return await call(signal);
      } catch (error) {
        throw toModelError(error, options.ref);
      }
    }, options.signal);
  } catch (error) {
    if (options.signal?.aborted) throw cancelledError(options.signal);
    throw toModelError(error, options.ref);
  }
}

/** Calls a chat model once under the retry policy (see `withModelRetry`). */
export function invokeModel(
  model: Runnable<BaseMessage[], AIMessage>,
  messages: BaseMessage[],
  options: ModelCallOptions = {},
): Promise<AIMessage> {
  return withModelRetry((signal) => model.invoke(messages, { signal }), options);
}
