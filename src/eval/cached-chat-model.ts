import { createHash } from 'node:crypto';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { BaseChatModel, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import {
  HumanMessage,
  coerceMessageLikeToMessage,
  mapChatMessagesToStoredMessages,
  mapStoredMessagesToChatMessages,
  type AIMessage,
  type AIMessageChunk,
  type BaseMessage,
} from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { canonicalJson, type Budget } from '../core/index.js';
import { formatModelRef, type ModelRef } from '../models/model-ref.js';
import { costOfReply } from '../models/reply-info.js';
import type { RouteDecision } from '../models/router.js';
import { usageFromMessage } from '../models/usage.js';
import type { AnswerCache } from './answer-cache.js';
import type { ModelMeter } from './model-meter.js';

/** The model to wrap, where its replies are cached, and what counts and limits its calls. */
export interface CachedChatModelOptions {
  inner: BaseChatModel;
  /** The routed model's reference: part of every cache key. */
  ref: ModelRef;
  /** Omitted: every call reaches the model. */
  cache?: AnswerCache | undefined;
  meter: ModelMeter;
  /** The suite's budget: each call that reaches a model reserves from it first. */
  budget?: Budget | undefined;
  /** The route's bound on a call's cost and tokens, reserved from `budget` before the call. */
  estimate?: RouteDecision['estimate'];
  /** Tools bound with `bindTools`, passed on to the inner model. */
  tools?: { tools: BindToolsInput[]; kwargs?: Record<string, unknown> };
}

// Call options that say how a call is run or traced, not what the model is asked.
const notAsked = new Set(['signal', 'callbacks', 'tags', 'metadata', 'runName', 'runId', 'configurable']);
const ignored = new Set([...notAsked, 'recursionLimit', 'maxConcurrency', 'timeout']);

const toMessages = (input: BaseLanguageModelInput): BaseMessage[] =>
  typeof input === 'string'
    ? [new HumanMessage(input)]
    : Array.isArray(input)
      ? input.map((m) => coerceMessageLikeToMessage(m))
      : (input as { toChatMessages(): BaseMessage[] }).toChatMessages();

/** What a message asks, without what varies between identical calls (ids, usage, timings). */
const askedBy = (m: BaseMessage) => {
  const ai = m as Partial<AIMessage> & { tool_call_id?: string };
  return {
    type: m.getType(),
    content: m.content,
    name: m.name,
    toolCalls: ai.tool_calls?.map((c) => ({ id: c.id, name: c.name, args: c.args })),
    toolCallId: ai.tool_call_id,
  };
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A chat model that answers from the cache when it has seen the prompt before: the key hashes the
 * model, the messages, the bound tools, the call options (temperature, stop, ...) and how many
 * times the case asked this before. A cached reply comes back with zero usage, so it costs the run
 * and the budget nothing. Calls that reach the model are counted, budgeted and stored.
 */
export class CachedChatModel extends BaseChatModel {
  private readonly options: CachedChatModelOptions;

  constructor(options: CachedChatModelOptions) {
    super({});
    this.options = options;
  }

  /** LangChain's name for this kind of model. @internal */
  _llmType(): string {
    return 'cadre-eval-cached';
  }

  /** The same cache over the inner model with these tools bound. */
  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Record<string, unknown>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk> {
    return new CachedChatModel({
      ...this.options,
      tools: { tools, ...(kwargs ? { kwargs } : {}) },
    }) as unknown as Runnable<BaseLanguageModelInput, AIMessageChunk>;
  }

  /** One call: from the cache when the prompt was seen, else from the model (and then cached). */
  override async invoke(input: BaseLanguageModelInput, options?: Record<string, unknown>): Promise<AIMessageChunk> {
    return (await this.call(toMessages(input), options ?? {})) as unknown as AIMessageChunk;
  }

  /** LangChain's generation hook. @internal */
  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const message = await this.call(messages, options as Record<string, unknown>);
    return { generations: [{ text: message.text, message }] };
  }

  private async call(messages: BaseMessage[], options: Record<string, unknown>): Promise<AIMessage> {
    const { inner, ref, cache, meter, budget, estimate, tools } = this.options;
    const asked = Object.fromEntries(Object.entries(options).filter(([k]) => !ignored.has(k)));
    const prompt = canonicalJson({
      model: formatModelRef(ref),
      messages: messages.map(askedBy),
      tools: tools?.tools.map((t) => convertToOpenAITool(t)),
      toolOptions: tools?.kwargs,
      options: asked,
    });
    const asks = sha256(prompt);
    const key = sha256(`${asks}#${meter.occurrence(asks)}`);
    const hit = cache?.get(key);
    if (hit) {
      meter.cacheHits += 1;
      return free(hit.message);
    }
    const reservation = budget?.beforeStep(estimate?.(messages) ?? {});
    let reply: AIMessage;
    try {
      const model = tools && inner.bindTools ? inner.bindTools(tools.tools, tools.kwargs) : inner;
      const passOn = Object.fromEntries(Object.entries(options).filter(([k]) => !notAsked.has(k) || k === 'signal'));
      reply = (await model.invoke(messages, passOn)) as AIMessage;
    } catch (error) {
      reservation?.release();
      throw error;
    }
    const usage = usageFromMessage(reply);
    const { costUsd, model } = costOfReply(reply, ref);
    meter.charge(usage, costUsd);
    const [stored] = mapChatMessagesToStoredMessages([reply]);
    cache?.put(key, { message: stored!, model, usage, costUsd });
    reservation?.settle(usage, costUsd);
    return reply;
  }
}

/** A cached reply as a message that reports no usage and no cost: it was paid for when it was made. */
function free(stored: ReturnType<typeof mapChatMessagesToStoredMessages>[number]): AIMessage {
  const data = structuredClone(stored.data) as typeof stored.data & {
    usage_metadata?: unknown;
    response_metadata?: Record<string, unknown>;
  };
  data.usage_metadata = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  const metadata: Record<string, unknown> = { ...data.response_metadata, cached: true };
  if (metadata.cadre) metadata.cadre = { ...(metadata.cadre as object), costUsd: 0 };
  data.response_metadata = metadata;
  return mapStoredMessagesToChatMessages([{ ...stored, data }])[0] as AIMessage;
}
