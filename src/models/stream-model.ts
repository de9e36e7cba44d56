import { AIMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { DelegateBackoff, handleWhen, retry } from 'cockatiel';
import { CadreError, cancelledError } from '../core/index.js';
import type { RetryOptions } from './invoke-model.js';
import type { ModelRef } from './model-ref.js';
import { toModelError } from './model-errors.js';

/** Where a streamed call goes, how it is retried, and who sees its chunks. */
export interface StreamModelOptions {
  signal?: AbortSignal;
  ref?: Pick<ModelRef, 'provider' | 'model'>;
  retry?: RetryOptions;
  /** Called with each chunk as it arrives, e.g. to emit `model.delta` events (see `modelDeltas`). */
  onChunk: (chunk: AIMessageChunk) => void;
}

/**
 * Calls a chat model once through `stream()`, handing each chunk to `onChunk`, and returns the
 * whole reply, as `invokeModel` would have. Rate limits and server errors are retried as there, but
 * only before the first chunk: once a caller has seen part of a reply, a failure ends the call.
 */
export async function streamModel(
  model: Runnable<BaseMessage[], AIMessage>,
  messages: BaseMessage[],
  options: StreamModelOptions,
): Promise<AIMessage> {
  const { retries = 3, baseDelayMs = 500, maxDelayMs = 30_000 } = options.retry ?? {};
  let started = false;
  const retryable = (e: unknown) =>
    !started && CadreError.isInstance(e) && (e.code === 'rate_limited' || e.code === 'provider_error');
  const backoff = new DelegateBackoff<{ attempt: number; result: { error?: unknown } | { value: unknown } }>(
    (context) => {
      const error = 'error' in context.result ? context.result.error : undefined;
      const asked = CadreError.isInstance(error) ? (error.details.retryAfterMs as number | undefined) : undefined;
      return Math.min(maxDelayMs, asked ?? baseDelayMs * 2 ** (context.attempt - 1));
    },
  );
  const policy = retry(handleWhen(retryable), { maxAttempts: retries, backoff });
  try {
    return await policy.execute(async ({ signal }) => {
      let whole: AIMessageChunk | undefined;
      try {
        for await (const chunk of await model.stream(messages, { signal })) {
          started = true;
          options.onChunk(chunk as AIMessageChunk);
          whole = whole ? whole.concat(chunk as AIMessageChunk) : (chunk as AIMessageChunk);
        }
      } catch (error) {
        throw toModelError(error, options.ref);
      }
      return toMessage(whole);
    }, options.signal);
  } catch (error) {
    if (options.signal?.aborted) throw cancelledError(options.signal);
    throw toModelError(error, options.ref);
  }
}

/** The chunks joined as a plain AIMessage, the type `invoke` returns and the journal stores. */
function toMessage(whole: AIMessageChunk | undefined): AIMessage {
  if (!whole) return new AIMessage({ content: '' });
  return new AIMessage({
    content: whole.content,
    tool_calls: whole.tool_calls ?? [],
    invalid_tool_calls: whole.invalid_tool_calls ?? [],
    additional_kwargs: whole.additional_kwargs,
    response_metadata: whole.response_metadata,
    ...(whole.usage_metadata ? { usage_metadata: whole.usage_metadata } : {}),
    ...(whole.id ? { id: whole.id } : {}),
  });
}
