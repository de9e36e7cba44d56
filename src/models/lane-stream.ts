import type { AIMessage, AIMessageChunk, BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { CadreError, cancelledError, type Usage } from '../core/index.js';
import type { ModelLane } from './model-lane.js';
import { toModelError } from './model-errors.js';
import type { Reroute } from './router.js';

/** What a streamed call along a chain needs from its routed model. */
export interface LaneStreamRoute {
  /** The chat model (tools bound) a lane's calls go to. */
  member(lane: ModelLane): Runnable<BaseMessage[], AIMessage>;
  onReroute?: (reroute: Reroute) => void;
}

/** The lane whose model streamed the reply, and the usage its chunks reported. */
export interface LaneStreamResult {
  lane: ModelLane;
  usage: Usage;
}

/**
 * Chunks handed from a lane's call, which runs inside the lane's queue, timeout and breaker, to the
 * caller's iteration, which runs outside it.
 */
class ChunkChannel {
  private readonly items: AIMessageChunk[] = [];
  private head = 0;
  private ended = false;
  private failure: CadreError | undefined;
  private waiter: (() => void) | undefined;

  push(chunk: AIMessageChunk): void {
    this.items.push(chunk);
    this.wake();
  }

  end(failure?: CadreError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.wake();
  }

  async next(): Promise<AIMessageChunk | undefined> {
    while (this.head === this.items.length && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    if (this.head < this.items.length) return this.items[this.head++];
    if (this.failure) throw this.failure;
    return undefined;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/**
 * One lane's streamed call. The call holds the lane's slot until its stream ends (or the caller
 * stops reading, which aborts it); the lane's timeout covers the whole stream, as it covers a
 * whole `invoke`.
 */
async function* streamLane(
  lane: ModelLane,
  model: Runnable<BaseMessage[], AIMessage>,
  messages: BaseMessage[],
  signal: AbortSignal | undefined,
): AsyncGenerator<AIMessageChunk, void, undefined> {
  const channel = new ChunkChannel();
  const stop = new AbortController();
  const onAbort = () => channel.end(cancelledError(signal!));
  // A provider that only notices an abort when its next chunk arrives must not keep the caller waiting.
  signal?.addEventListener('abort', onAbort, { once: true });
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  lane
    .run(async (s) => {
      try {
        for await (const chunk of await model.stream(messages, { signal: s })) channel.push(chunk as AIMessageChunk);
      } catch (error) {
        throw toModelError(error, lane.model.ref);
      }
    }, both)
    .then(
      () => channel.end(),
      (error: unknown) => channel.end(toModelError(error, lane.model.ref)),
    );
  try {
    for (let chunk = await channel.next(); chunk; chunk = await channel.next()) yield chunk;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** Whether a chunk holds part of the answer: text, or a piece of a tool call. */
const isToken = (chunk: AIMessageChunk): boolean => chunk.text.length > 0 || (chunk.tool_call_chunks?.length ?? 0) > 0;

const addChunkUsage = (usage: Usage, chunk: AIMessageChunk): void => {
  const u = chunk.usage_metadata;
  if (!u) return;
  usage.inputTokens += u.input_tokens ?? 0;
  usage.outputTokens += u.output_tokens ?? 0;
  usage.totalTokens += u.total_tokens ?? (u.input_tokens ?? 0) + (u.output_tokens ?? 0);
};

/**
 * Streams one call along a fallback chain. A model that fails before its first token (text or a
 * piece of a tool call) gives way to the next, as `invoke` does; once a token has been passed on the
 * reply is committed, and a later failure ends the stream with that error.
 */
export async function* streamFallback(
  lanes: ModelLane[],
  messages: BaseMessage[],
  signal: AbortSignal | undefined,
  route: LaneStreamRoute,
): AsyncGenerator<AIMessageChunk, LaneStreamResult, undefined> {
  let last: CadreError | undefined;
  const tried: string[] = [];
  for (let i = 0; i < lanes.length; i++) {
    const lane = lanes[i]!;
    const next = lanes[i + 1];
    // An open breaker is skipped while another model can answer; the last resort is still tried.
    if (lane.health === 'open' && next) {
      tried.push(`${lane.model.id}: breaker open`);
      continue;
    }
    const stream = streamLane(lane, route.member(lane), messages, signal);
    // Chunks before the first token (a message start, say) are held: until then the call can still fall back.
    const held: AIMessageChunk[] = [];
    let step: IteratorResult<AIMessageChunk, void>;
    try {
      do {
        step = await stream.next();
        if (!step.done) held.push(step.value);
      } while (!step.done && !isToken(step.value));
    } catch (error) {
      last = toModelError(error, lane.model.ref);
      if (last.code === 'cancelled' || signal?.aborted) throw last;
      tried.push(`${lane.model.id}: ${last.code}`);
      if (next)
        route.onReroute?.({
          kind: 'fallback',
          from: lane.model.ref,
          to: next.model.ref,
          reason: `${lane.model.id} failed (${last.code}): ${last.message}`,
        });
      continue;
    }
    const usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
    try {
      for (const chunk of held) {
        addChunkUsage(usage, chunk);
        yield chunk;
      }
      if (!step.done)
        for (step = await stream.next(); !step.done; step = await stream.next()) {
          addChunkUsage(usage, step.value);
          yield step.value;
        }
    } finally {
      // Ends the lane's call when the caller stops reading early.
      await stream.return();
    }
    return { lane, usage };
  }
  throw chainFailure(last, tried);
}

/** The error a chain ends with when no model answered: the last failure, with every attempt listed. */
export function chainFailure(last: CadreError | undefined, tried: string[]): CadreError {
  if (!last)
    return new CadreError('provider_error', `Every model is failing (${tried.join('; ')})`, { details: { tried } });
  return new CadreError(last.code, tried.length > 1 ? `Every model failed: ${tried.join('; ')}` : last.message, {
    cause: last,
    details: { ...last.details, tried },
  });
}

/** Reads a stream to its end: every chunk, and what the stream returned. */
export async function collectStream<T, R>(
  stream: AsyncGenerator<T, R, undefined>,
): Promise<{ chunks: T[]; result: R }> {
  const chunks: T[] = [];
  for (let step = await stream.next(); ; step = await stream.next()) {
    if (step.done) return { chunks, result: step.value };
    chunks.push(step.value);
  }
}
