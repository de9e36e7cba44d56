import { AIMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { withModelRetry, type ModelCallOptions } from './invoke-model.js';

/** Where a streamed call goes, how it is retried, and who sees its chunks. */
export interface StreamModelOptions extends ModelCallOptions {
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
  let started = false;
  return withModelRetry(
    async (signal) => {
      let whole: AIMessageChunk | undefined;
      for await (const chunk of await model.stream(messages, { signal })) {
        started = true;
        options.onChunk(chunk as AIMessageChunk);
        whole = whole ? whole.concat(chunk as AIMessageChunk) : (chunk as AIMessageChunk);
      }
      return toMessage(whole);
    },
    options,
    () => !started,
  );
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
