import { BaseChatModel, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type { AIMessage } from '@langchain/core/messages';
import {
  AIMessageChunk,
  HumanMessage,
  SystemMessage,
  coerceMessageLikeToMessage,
  type BaseMessage,
} from '@langchain/core/messages';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import { CadreError, addUsage, emptyUsage, type Usage } from '../core/index.js';
import { callCost, estimateMessageTokens } from './call-estimate.js';
import {
  chainFailure,
  collectStream,
  streamFallback,
  type LaneStreamResult,
  type LaneStreamRoute,
} from './lane-stream.js';
import type { ModelLane } from './model-lane.js';
import { toModelError } from './model-errors.js';
import { containsPii } from './pii.js';
import type { PoolModel } from './pool.js';
import type { AnswerCheck, Reroute } from './router.js';
import { usageFromMessage } from './usage.js';
import type { RoutedReplyInfo } from './reply-info.js';

// Kept apart so an agent can price a reply without loading routing (and the PII detector it uses).
export { costOfReply, routedReplyInfo, type RoutedReplyInfo } from './reply-info.js';

/** The lanes a routed model calls through, their chat models, and what to do on a cascade or reroute. */
export interface RoutedChatModelOptions {
  /** The fallback chain, or a cascade's levels cheapest first. */
  lanes: ModelLane[];
  /** The chat model for each pool model id. */
  chats: ReadonlyMap<string, BaseChatModel>;
  cascade?: { check: 'schema' | 'self-check' | 'evaluator'; checkAnswer?: AnswerCheck };
  /** Output tokens assumed for a model without `maxOutputTokens`, for cost estimates. */
  expectedOutputTokens: number;
  /** The local-only chain, for a conversation that turns out to hold personal data. */
  toSensitive?: () => ModelLane[];
  /** Text the router already found free of personal data; a message with exactly this text is not scanned again. */
  scanned?: string;
  /** Told each time a call moves to another model (a fallback, an escalation, a privacy move). */
  onReroute?: (reroute: Reroute) => void;
  /** Tools bound with `bindTools`, passed on to whichever model answers. */
  tools?: { tools: BindToolsInput[]; kwargs?: Record<string, unknown> };
  /** Ends the first lane's reservation once the first call is under way. */
  release?: () => void;
}

type Spent = { usage: Usage; costUsd: number };

/** The self-check's instructions and framing, in tokens, on top of the request and the answer. */
const selfCheckOverheadTokens = 60;

const textOf = (m: BaseMessage) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
const priced = (lane: ModelLane, usage: Usage) =>
  (usage.inputTokens * lane.model.price.input + usage.outputTokens * lane.model.price.output) / 1_000_000;

/**
 * The model a policy-router decision hands out. Each call goes through the lanes in order (queue,
 * timeout, breaker) and falls back to the next on failure; as a cascade it escalates when an answer
 * fails its check. Every reply says in `response_metadata.cadre` which model answered and the cost.
 */
export class RoutedChatModel extends BaseChatModel {
  private options: RoutedChatModelOptions;
  private lanes: ModelLane[];
  private scanned = 0;
  private readonly bound = new Map<string, Runnable<BaseMessage[], AIMessage>>();

  constructor(options: RoutedChatModelOptions) {
    super({});
    this.options = options;
    this.lanes = options.lanes;
  }

  /** LangChain's name for this kind of model. @internal */
  _llmType(): string {
    return 'cadre-routed';
  }

  /** The first model of the chain as things stand. */
  get current(): PoolModel {
    return this.lanes[0]!.model;
  }

  /** A routed model that binds these tools on whichever model answers. */
  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Record<string, unknown>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk> {
    return new RoutedChatModel({
      ...this.options,
      lanes: this.lanes,
      tools: { tools, ...(kwargs ? { kwargs } : {}) },
    }) as unknown as Runnable<BaseLanguageModelInput, AIMessageChunk>;
  }

  // Straight to the lanes: the callback machinery of BaseChatModel.invoke costs more than routing.
  /** One call through the lanes: the first model that answers (or, in a cascade, passes its check) wins. */
  override async invoke(input: BaseLanguageModelInput, options?: { signal?: AbortSignal }): Promise<AIMessageChunk> {
    return (await this.call(toMessages(input), options?.signal)) as unknown as AIMessageChunk;
  }

  /** LangChain's generation hook. @internal */
  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const message = await this.call(messages, options.signal);
    return { generations: [{ text: textOf(message), message }] };
  }

  // `stream()` comes here, past BaseChatModel's callback machinery, as `invoke` does.
  /**
   * Streams one call: chunks come from the first model that starts answering. A model that fails
   * before its first chunk gives way to the next; after it, the error ends the stream. A cascade
   * holds back each level's answer until it passes its check and streams its last level live. The
   * last chunk carries `response_metadata.cadre` and, in a cascade, the usage of rejected attempts.
   */
  override async *_streamIterator(
    input: BaseLanguageModelInput,
    options?: { signal?: AbortSignal },
  ): AsyncGenerator<AIMessageChunk> {
    yield* this.streamCall(toMessages(input), options?.signal);
  }

  /** LangChain's streaming hook, for `generate` with a streaming callback. @internal */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    for await (const message of this.streamCall(messages, options.signal)) {
      const chunk = new ChatGenerationChunk({ message, text: message.text });
      yield chunk;
      await runManager?.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
    }
  }

  /** Highest cost and tokens the next call on `messages` could take. */
  estimate(messages: readonly { content: unknown }[]): { costUsd: number; tokens: number } {
    const input = estimateMessageTokens(messages);
    const { expectedOutputTokens, cascade } = this.options;
    const output = (lane: ModelLane) => lane.model.maxOutputTokens ?? expectedOutputTokens;
    if (!cascade) {
      // A fallback chain pays for one model: the dearest bounds it.
      return {
        costUsd: Math.max(...this.lanes.map((lane) => callCost(lane.model, input, expectedOutputTokens))),
        tokens: input + Math.max(...this.lanes.map(output)),
      };
    }
    // A cascade may pay every level, and a self-check (which reads the request and the answer) on each but the last.
    let costUsd = 0;
    let tokens = 0;
    this.lanes.forEach((lane, i) => {
      costUsd += callCost(lane.model, input, expectedOutputTokens);
      tokens += input + output(lane);
      if (i < this.lanes.length - 1 && this.selfChecks()) {
        const checkInput = input + output(lane) + selfCheckOverheadTokens;
        costUsd += callCost(lane.model, checkInput, expectedOutputTokens);
        tokens += checkInput + output(lane);
      }
    });
    return { costUsd, tokens };
  }

  /** Whether a cascade's check asks the model itself: `self-check`, or an `evaluator` with no check given. */
  private selfChecks(): boolean {
    const { check, checkAnswer } = this.options.cascade ?? {};
    return check === 'self-check' || (check === 'evaluator' && !checkAnswer);
  }

  private async call(messages: BaseMessage[], signal?: AbortSignal): Promise<AIMessage> {
    this.guardPrivacy(messages);
    // The lane counts this call itself from here on.
    queueMicrotask(() => this.options.release?.());
    return this.options.cascade ? this.cascade(messages, signal) : this.fallback(this.lanes, messages, signal);
  }

  private async *streamCall(messages: BaseMessage[], signal?: AbortSignal): AsyncGenerator<AIMessageChunk> {
    this.guardPrivacy(messages);
    queueMicrotask(() => this.options.release?.());
    if (this.options.cascade) yield* this.streamCascade(messages, signal);
    else yield* this.streamChain(this.lanes, messages, signal);
  }

  private readonly route: LaneStreamRoute = {
    member: (lane) => this.member(lane),
    onReroute: (reroute) => this.options.onReroute?.(reroute),
  };

  private async *streamChain(
    lanes: ModelLane[],
    messages: BaseMessage[],
    signal: AbortSignal | undefined,
    spent?: Spent,
  ): AsyncGenerator<AIMessageChunk> {
    const { lane, usage } = yield* streamFallback(lanes, messages, signal, this.route);
    yield closingChunk(lane, usage, spent);
  }

  private async *streamCascade(messages: BaseMessage[], signal?: AbortSignal): AsyncGenerator<AIMessageChunk> {
    const spent: Spent = { usage: emptyUsage(), costUsd: 0 };
    const levels = this.lanes;
    for (let i = 0; i < levels.length; i++) {
      const lane = levels[i]!;
      const next = levels[i + 1];
      if (!next) return yield* this.streamChain([lane], messages, signal, spent);
      // An answer that may yet be rejected is held back: a client never sees text that is then withdrawn.
      let held: { chunks: AIMessageChunk[]; result: LaneStreamResult };
      try {
        held = await collectStream(streamFallback([lane], messages, signal, this.route));
      } catch (error) {
        if (CadreError.from(error).code === 'cancelled') throw error;
        this.escalate(lane, next, { error });
        continue;
      }
      const { chunks, result } = held;
      const reply = chunks.reduce((all, chunk) => all.concat(chunk), new AIMessageChunk({ content: '' }));
      // Tool calls are steps, not answers: only a final answer is judged.
      const verdict = reply.tool_calls?.length
        ? { ok: true }
        : await this.check(lane, messages, textOf(reply), spent, signal);
      if (verdict.ok) {
        yield* chunks;
        yield closingChunk(result.lane, result.usage, spent);
        return;
      }
      spent.usage = addUsage(spent.usage, result.usage);
      spent.costUsd += priced(lane, result.usage);
      this.escalate(lane, next, { verdict });
    }
  }

  private guardPrivacy(messages: BaseMessage[]): void {
    const toSensitive = this.options.toSensitive;
    if (!toSensitive) return;
    for (; this.scanned < messages.length; this.scanned++) {
      const text = textOf(messages[this.scanned]!);
      if (text === this.options.scanned || !containsPii(text)) continue;
      const from = this.lanes[0]!.model.ref;
      this.lanes = toSensitive();
      this.options = { ...this.options, cascade: undefined, toSensitive: undefined };
      this.scanned = messages.length;
      this.options.onReroute?.({
        kind: 'privacy',
        from,
        to: this.lanes[0]!.model.ref,
        reason: 'personal data appeared in the conversation; local models only from here',
      });
      return;
    }
  }

  private member(lane: ModelLane): Runnable<BaseMessage[], AIMessage> {
    const chat = this.options.chats.get(lane.model.id)!;
    const tools = this.options.tools;
    // A model without native tool calling gets the request without tools and answers in text.
    if (!tools || lane.model.capabilities.tools !== true || !chat.bindTools)
      return chat as unknown as Runnable<BaseMessage[], AIMessage>;
    let bound = this.bound.get(lane.model.id);
    if (!bound) {
      bound = chat.bindTools(tools.tools, tools.kwargs) as Runnable<BaseMessage[], AIMessage>;
      this.bound.set(lane.model.id, bound);
    }
    return bound;
  }

  private async fallback(
    lanes: ModelLane[],
    messages: BaseMessage[],
    signal: AbortSignal | undefined,
  ): Promise<AIMessage> {
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
      try {
        const reply = await lane.run(
          (s) =>
            this.member(lane)
              .invoke(messages, { signal: s })
              .catch((e: unknown) => Promise.reject(toModelError(e, lane.model.ref))),
          signal,
        );
        return annotate(reply, lane);
      } catch (error) {
        last = toModelError(error, lane.model.ref);
        if (last.code === 'cancelled' || signal?.aborted) throw last;
        tried.push(`${lane.model.id}: ${last.code}`);
        if (next)
          this.options.onReroute?.({
            kind: 'fallback',
            from: lane.model.ref,
            to: next.model.ref,
            reason: `${lane.model.id} failed (${last.code}): ${last.message}`,
          });
      }
    }
    throw chainFailure(last, tried);
  }

  private async cascade(messages: BaseMessage[], signal?: AbortSignal): Promise<AIMessage> {
    const spent: Spent = { usage: emptyUsage(), costUsd: 0 };
    const levels = this.lanes;
    for (let i = 0; i < levels.length; i++) {
      const lane = levels[i]!;
      const next = levels[i + 1];
      let reply: AIMessage;
      try {
        reply = await this.fallback([lane], messages, signal);
      } catch (error) {
        if (!next || CadreError.from(error).code === 'cancelled') throw error;
        this.escalate(lane, next, { error });
        continue;
      }
      // Tool calls are steps, not answers: only a final answer is judged.
      if (!next || reply.tool_calls?.length) return fold(reply, spent);
      const verdict = await this.check(lane, messages, textOf(reply), spent, signal);
      if (verdict.ok) return fold(reply, spent);
      addSpent(spent, reply);
      this.escalate(lane, next, { verdict });
    }
    throw new CadreError('model_failed', 'The cascade ended without an answer');
  }

  /** Tells the router a cascade level gave way to the next: it failed, or its answer failed the check. */
  private escalate(from: ModelLane, to: ModelLane, why: { error: unknown } | { verdict: { reason?: string } }): void {
    const reason =
      'error' in why
        ? `${from.model.id} failed: ${CadreError.from(why.error).code}`
        : `answer failed the ${this.options.cascade!.check}${why.verdict.reason ? `: ${why.verdict.reason}` : ''}`;
    this.options.onReroute?.({ kind: 'escalate', from: from.model.ref, to: to.model.ref, reason });
  }

  private async check(
    lane: ModelLane,
    messages: BaseMessage[],
    answer: string,
    spent: Spent,
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; reason?: string }> {
    const { checkAnswer } = this.options.cascade!;
    if (!this.selfChecks()) {
      if (checkAnswer) return checkAnswer(answer);
      // `schema` with no schema given: the answer must at least be JSON.
      try {
        JSON.parse(answer);
        return { ok: true };
      } catch {
        return { ok: false, reason: 'not JSON' };
      }
    }
    const asked = [...messages].reverse().find((m) => m.getType() === 'human');
    const judge = await lane.run(
      (s) =>
        this.options.chats
          .get(lane.model.id)!
          .invoke(
            [
              new SystemMessage(
                'You check answers. Reply YES if the answer fully and correctly does what was asked; otherwise reply NO and a short reason.',
              ),
              new HumanMessage(`Request:\n${asked ? textOf(asked) : '(none)'}\n\nAnswer:\n${answer}`),
            ],
            { signal: s },
          ),
      signal,
    );
    const said = textOf(judge).trim();
    addSpent(spent, judge, lane);
    return /^yes\b/i.test(said)
      ? { ok: true }
      : { ok: false, reason: said.replace(/^no\b[\s:,.-]*/i, '').slice(0, 200) || 'the self-check said no' };
  }
}

function addSpent(spent: Spent, message: AIMessage, lane?: ModelLane): void {
  const info = message.response_metadata?.cadre as RoutedReplyInfo | undefined;
  const usage = usageFromMessage(message);
  spent.usage = addUsage(spent.usage, usage);
  spent.costUsd += info?.costUsd ?? (lane ? priced(lane, usage) : 0);
}

function replyInfo(lane: ModelLane, usage: Usage): RoutedReplyInfo {
  const { ref, id } = lane.model;
  return { model: id, provider: ref.provider, name: ref.model, location: ref.location, costUsd: priced(lane, usage) };
}

/** Marks who answered a reply and what it cost. */
function annotate(reply: AIMessage, lane: ModelLane): AIMessage {
  reply.response_metadata = { ...reply.response_metadata, cadre: replyInfo(lane, usageFromMessage(reply)) };
  return reply;
}

/**
 * The last chunk of a streamed reply: who answered and the cost, plus what earlier attempts of the
 * same call spent (added to the usage the chunks reported, as LangChain sums usage over chunks).
 */
function closingChunk(lane: ModelLane, usage: Usage, spent?: Spent): AIMessageChunk {
  const info = replyInfo(lane, usage);
  const earlier = spent && (spent.usage.totalTokens > 0 || spent.costUsd > 0) ? spent : undefined;
  if (earlier) info.costUsd += earlier.costUsd;
  return new AIMessageChunk({
    content: '',
    response_metadata: { cadre: info },
    ...(earlier
      ? {
          usage_metadata: {
            input_tokens: earlier.usage.inputTokens,
            output_tokens: earlier.usage.outputTokens,
            total_tokens: earlier.usage.totalTokens,
          },
        }
      : {}),
  });
}

/** Adds what earlier attempts of the same call spent (a cascade's rejected answers and checks). */
function fold(reply: AIMessage, spent: Spent): AIMessage {
  if (spent.usage.totalTokens === 0 && spent.costUsd === 0) return reply;
  const info = reply.response_metadata.cadre as RoutedReplyInfo;
  const sum = addUsage(usageFromMessage(reply), spent.usage);
  reply.response_metadata = { ...reply.response_metadata, cadre: { ...info, costUsd: info.costUsd + spent.costUsd } };
  reply.usage_metadata = {
    input_tokens: sum.inputTokens,
    output_tokens: sum.outputTokens,
    total_tokens: sum.totalTokens,
  };
  return reply;
}

function toMessages(input: BaseLanguageModelInput): BaseMessage[] {
  if (typeof input === 'string') return [new HumanMessage(input)];
  if (Array.isArray(input)) return input.map((m) => coerceMessageLikeToMessage(m));
  return (input as { toChatMessages(): BaseMessage[] }).toChatMessages();
}
