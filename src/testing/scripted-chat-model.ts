import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { isLangChainTool } from '@langchain/core/utils/function_calling';
import { CadreError, throwIfAborted, type Usage } from '../core/index.js';
import { unwrapUntrusted } from '../../tools/policy/untrusted.js';
import { chunkReply } from './scripted-chunks.js';

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
  /** Simulated latency per call, in ms (a number, or a [min, max] range); when streaming, before the first chunk. Default 0. */
  latencyMs?: number | [number, number];
  /** Characters of text (or of a tool call's argument JSON) per streamed chunk. Default 4, about a token. */
  chunkSize?: number;
  /** When streaming, the time each chunk takes to arrive, in ms, the first one included. Default 0. */
  chunkDelayMs?: number;
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
 * characters a token unless the script gives it. `stream()` sends the same reply in chunks (tool
 * calls as `tool_call_chunks`), paced by `chunkDelayMs`. Use it to test agents, tools and streaming
 * clients with no network.
 */
export class ScriptedChatModel extends BaseChatModel<ScriptedCallOptions> {
  /** How many times the model has been called. */
  calls = 0;
  private readonly replies: ScriptedReply[];
  private readonly respond: ScriptFunction | undefined;
  private readonly latency: number | [number, number];
  private readonly chunkSize: number;
  private readonly chunkDelayMs: number;
  readonly modelName: string;

  constructor(options: ScriptedChatModelOptions = {}) {
    super({});
    this.replies = options.replies ?? [];
    this.respond = options.respond;
    this.latency = options.latencyMs ?? 0;
    this.modelName = options.modelName ?? 'scripted';
    this.chunkSize = options.chunkSize ?? 4;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    if (!(Number.isInteger(this.chunkSize) && this.chunkSize > 0) || !(this.chunkDelayMs >= 0)) {
      throw new CadreError(
        'input_invalid',
        'ScriptedChatModel needs a positive whole `chunkSize` and `chunkDelayMs` >= 0',
      );
    }
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

  /**
   * LangChain's streaming hook: the reply `invoke` would give, in chunks of `chunkSize` characters
   * (tool calls as `tool_call_chunks`), each after `chunkDelayMs`. @internal
   */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const call = this.calls++;
    await this.wait(options.signal);
    const reply = await this.nextReply(call, messages, options.tools ?? []);
    for (const message of chunkReply(this.toMessage(call, messages, reply), this.chunkSize)) {
      if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs, options.signal);
      const chunk = new ChatGenerationChunk({ message, text: message.content as string });
      yield chunk;
      await runManager?.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
    }
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
    await sleep(ms, signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const cancel = () => {
      clearTimeout(timer);
      reject(new CadreError('cancelled', 'Cancelled while waiting for the scripted model'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', cancel);
      resolve();
    }, ms);
    signal?.addEventListener('abort', cancel, { once: true });
  });
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
