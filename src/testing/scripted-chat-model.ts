import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { isLangChainTool } from '@langchain/core/utils/function_calling';
import { CadreError, throwIfAborted, type Usage } from '../core/index.js';
import { unwrapUntrusted } from '../../tools/policy/untrusted.js';

/** A tool call the script asks for. `id` defaults to a deterministic one. */
export interface ScriptedToolCall {
  name: string;
  args?: Record<string, unknown>;
  id?: string;
}

/** One scripted answer: plain text, or text and tool calls, or an error to throw. */
export type ScriptedReply =
  string | { content?: string; toolCalls?: ScriptedToolCall[]; usage?: Partial<Usage>; error?: Error };

/** What a script function sees for each call. */
export interface ScriptContext {
  /** 0-based number of this call on the model. */
  call: number;
  messages: readonly BaseMessage[];
  /** Names of the tools bound with `bindTools`. */
  tools: readonly string[];
  /** The text of the first human message: usually the task. */
  task: string;
  /** Tool results since the last AI message, by tool name, without the untrusted-data wrapper. */
  toolResults: ReadonlyArray<{ name: string; content: string; callId: string }>;
}

/** Answers one call from what the model was sent: the scripted model's `respond`. */
export type ScriptFunction = (context: ScriptContext) => ScriptedReply | Promise<ScriptedReply>;

/** The script a {@link ScriptedChatModel} plays: fixed replies or a function, and its latency and name. */
export interface ScriptedChatModelOptions {
  /** Replies in order; used when `respond` is not given. */
  replies?: ScriptedReply[];
  /** Answers from the conversation; wins over `replies`. */
  respond?: ScriptFunction;
  /** Simulated latency per call, in ms (a number, or a [min, max] range). Default 0. */
  latencyMs?: number | [number, number];
  /** Reported model name. Default "scripted". */
  modelName?: string;
}

/** Call options of {@link ScriptedChatModel}: the names of the tools bound with `bindTools`. */
export interface ScriptedCallOptions extends BaseChatModelCallOptions {
  tools?: string[];
}

const estimateTokens = (text: string) => Math.ceil(text.length / 4);
const textOf = (message: BaseMessage) =>
  typeof message.content === 'string' ? message.content : JSON.stringify(message.content);

/**
 * A real LangChain chat model that answers from a script: fixed replies, tool calls (several per
 * turn for parallel calls) or a function of the conversation. Token usage is estimated at four
 * characters a token unless the script gives it. Use it to test agents and tools with no network.
 */
export class ScriptedChatModel extends BaseChatModel<ScriptedCallOptions> {
  /** How many times the model has been called. */
  calls = 0;
  private readonly replies: ScriptedReply[];
  private readonly respond: ScriptFunction | undefined;
  private readonly latency: number | [number, number];
  readonly modelName: string;

  constructor(options: ScriptedChatModelOptions = {}) {
    super({});
    this.replies = options.replies ?? [];
    this.respond = options.respond;
    this.latency = options.latencyMs ?? 0;
    this.modelName = options.modelName ?? 'scripted';
    if (!this.respond && this.replies.length === 0) {
      throw new CadreError('input_invalid', 'ScriptedChatModel needs `replies` or a `respond` function');
    }
  }

  /** LangChain's name for this kind of model. @internal */
  _llmType(): string {
    return 'scripted';
  }

  /** Binds tools by name only: the script sees them in `tools` and decides which to call. */
  override bindTools(tools: BindToolsInput[]) {
    const names = tools.map((tool) => {
      if (isLangChainTool(tool)) return tool.name;
      const record = tool as { name?: string; function?: { name?: string } };
      return record.function?.name ?? record.name ?? 'unknown';
    });
    return this.withConfig({ tools: names });
  }

  /** LangChain's generation hook. @internal */
  async _generate(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    _runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const call = this.calls++;
    await this.wait(options.signal);
    const reply = await this.nextReply(call, messages, options.tools ?? []);
    const message = this.toMessage(call, messages, reply);
    return { generations: [{ message, text: textOf(message) }], llmOutput: { tokenUsage: message.usage_metadata } };
  }

  /** LangChain's streaming hook: the whole reply as one chunk. @internal */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const result = await this._generate(messages, options, runManager);
    const message = result.generations[0]?.message as AIMessage;
    const chunk = new AIMessageChunk({
      content: message.content,
      tool_call_chunks: (message.tool_calls ?? []).map((c, index) => ({
        id: c.id,
        name: c.name,
        args: JSON.stringify(c.args),
        index,
        type: 'tool_call_chunk' as const,
      })),
      usage_metadata: message.usage_metadata,
    });
    yield new ChatGenerationChunk({ message: chunk, text: textOf(message) });
  }

  private async nextReply(call: number, messages: BaseMessage[], tools: string[]): Promise<ScriptedReply> {
    if (this.respond) return this.respond(scriptContext(call, messages, tools));
    const reply = this.replies[call];
    if (reply === undefined) {
      throw new CadreError(
        'model_failed',
        `ScriptedChatModel has no reply for call ${call + 1} (script has ${this.replies.length})`,
      );
    }
    return reply;
  }

  private toMessage(call: number, messages: BaseMessage[], reply: ScriptedReply): AIMessage {
    const spec = typeof reply === 'string' ? { content: reply } : reply;
    if (spec.error) throw spec.error;
    const content = spec.content ?? '';
    const toolCalls = (spec.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${call + 1}_${i + 1}`,
      name: c.name,
      args: c.args ?? {},
      type: 'tool_call' as const,
    }));
    const input = spec.usage?.inputTokens ?? messages.reduce((n, m) => n + estimateTokens(textOf(m)), 0);
    const output = spec.usage?.outputTokens ?? estimateTokens(content) + toolCalls.length * 10;
    return new AIMessage({
      content,
      tool_calls: toolCalls,
      usage_metadata: { input_tokens: input, output_tokens: output, total_tokens: input + output },
      response_metadata: { model_name: this.modelName },
    });
  }

  private async wait(signal: AbortSignal | undefined): Promise<void> {
    const [min, max] = typeof this.latency === 'number' ? [this.latency, this.latency] : this.latency;
    const ms = min + Math.random() * (max - min);
    if (ms <= 0) return throwIfAborted(signal);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(new CadreError('cancelled', 'Cancelled while waiting for the scripted model'));
        },
        { once: true },
      );
    });
  }
}

function scriptContext(call: number, messages: BaseMessage[], tools: string[]): ScriptContext {
  const lastAi = messages.findLastIndex((m) => m.getType() === 'ai');
  const toolResults = messages
    .slice(lastAi + 1)
    .filter((m) => m.getType() === 'tool')
    .map((m) => {
      const tm = m as BaseMessage & { name?: string; tool_call_id?: string };
      return { name: tm.name ?? '', content: unwrapUntrusted(textOf(m)), callId: tm.tool_call_id ?? '' };
    });
  const human = messages.find((m) => m.getType() === 'human');
  return { call, messages, tools, task: human ? textOf(human) : '', toolResults };
}
