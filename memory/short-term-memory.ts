import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import { CadreError } from '../src/core/index.js';
import { privacyRefusal, currentPrivacy } from '../src/models/privacy-scope.js';
import { createFixedRouter, type ModelRouter } from '../src/models/router.js';

/** The tiktoken encoding messages are counted in. */
export type TokenEncoding = 'cl100k_base' | 'o200k_base';

/** A conversation window's token budget, and how old messages leave it. */
export interface ShortTermMemoryOptions {
  /** Budget for everything `messages()` returns, summary included. */
  maxTokens: number;
  /**
   * Folds old messages into a rolling summary; without one they are dropped. A router is asked per
   * fold (task kind `summarise`); a bare model counts as local, as one given to `run({ model })` does.
   * A fold a cloud summariser may not read (a sensitive run, or personal data in it) is dropped.
   */
  summariser?: BaseChatModel | ModelRouter;
  /** The newest messages always kept verbatim. Default 4. */
  keepLast?: number;
  /** Default cl100k_base. */
  encoding?: TokenEncoding;
}

/** Role, separators and the like: what a chat format adds around each message's content. */
const perMessageOverhead = 4;
const summaryHeading = 'Summary of the earlier conversation:\n';

// Building an encoder parses its whole rank table, so each encoding is built once per process.
const encoders = new Map<TokenEncoding, Tiktoken>();
function encoder(name: TokenEncoding): Tiktoken {
  let e = encoders.get(name);
  if (!e) encoders.set(name, (e = getEncoding(name)));
  return e;
}

/** The text of a message as the model sees it: content parts and any tool calls. */
function textOf(message: BaseMessage): string {
  const { content } = message;
  const text =
    typeof content === 'string'
      ? content
      : content
          .map((part) => (part.type === 'text' && 'text' in part ? String(part.text) : JSON.stringify(part)))
          .join('');
  const calls = (message as BaseMessage & { tool_calls?: unknown[] }).tool_calls;
  return calls?.length ? `${text}${JSON.stringify(calls)}` : text;
}

/**
 * A conversation window counted in tokens. When it outgrows `maxTokens`, the oldest messages beyond
 * the last `keepLast` are folded into a rolling summary (or dropped, without a summariser).
 */
export class ShortTermMemory {
  /** How many messages were dropped for want of a summariser (or of room, or of one privacy allows). */
  dropped = 0;
  private window: BaseMessage[] = [];
  private rolling: string | undefined;
  private readonly maxTokens: number;
  private readonly keepLast: number;
  private readonly enc: Tiktoken;
  private readonly summariser: ModelRouter | undefined;
  private sensitive = false;
  // messages() calls run one at a time: two concurrent folds would summarise the same messages twice.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ShortTermMemoryOptions) {
    if (!Number.isInteger(options.maxTokens) || options.maxTokens <= 0) {
      throw new CadreError('input_invalid', `maxTokens must be a positive integer, got ${options.maxTokens}`);
    }
    const keepLast = options.keepLast ?? 4;
    if (!Number.isInteger(keepLast) || keepLast < 0)
      throw new CadreError('input_invalid', `keepLast must be a whole number, got ${keepLast}`);
    this.maxTokens = options.maxTokens;
    this.keepLast = keepLast;
    this.enc = encoder(options.encoding ?? 'cl100k_base');
    const { summariser } = options;
    this.summariser = !summariser || 'candidates' in summariser ? summariser : createFixedRouter(summariser);
  }

  /** The rolling summary of folded messages, if any. */
  get summary(): string | undefined {
    return this.rolling;
  }

  /** Appends a message; the window is trimmed lazily, by `messages()`. */
  add(message: BaseMessage): void {
    this.window.push(message);
  }

  /** Tokens of what `messages()` would return now, before any folding. */
  tokenCount(): number {
    return this.summaryTokens() + this.window.reduce((n, m) => n + this.count(m), 0);
  }

  /**
   * The summary (as a system message) and the kept messages, within `maxTokens` unless the last
   * `keepLast` messages alone exceed it: those are never cut.
   */
  messages(options: { signal?: AbortSignal } = {}): Promise<BaseMessage[]> {
    const next = this.queue.then(() => this.fit(options.signal));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async fit(signal: AbortSignal | undefined): Promise<BaseMessage[]> {
    while (this.tokenCount() > this.maxTokens && this.window.length > this.keepLast) {
      const fold = this.oldestToFold();
      const summary = this.summariser ? await this.summarise(this.summariser, fold, signal) : undefined;
      if (summary !== undefined) this.rolling = summary;
      else this.dropped += fold.length;
      // add() only appends, so the folded messages are still the first ones.
      this.window.splice(0, fold.length);
    }
    if (this.rolling !== undefined && this.tokenCount() > this.maxTokens) this.rolling = this.truncatedSummary();
    return [...(this.rolling ? [new SystemMessage(summaryHeading + this.rolling)] : []), ...this.window];
  }

  /** The fewest oldest messages whose removal brings the window within budget (at least one). */
  private oldestToFold(): BaseMessage[] {
    const foldable = this.window.length - this.keepLast;
    let excess = this.tokenCount() - this.maxTokens;
    let n = 0;
    while (n < foldable && (n === 0 || excess > 0)) excess -= this.count(this.window[n++]!);
    return this.window.slice(0, n);
  }

  /** The new rolling summary, or undefined when privacy keeps the fold from every model the router offers. */
  private async summarise(
    router: ModelRouter,
    fold: BaseMessage[],
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const transcript = fold.map((m) => `${m.getType()}: ${textOf(m)}`).join('\n');
    const target = Math.max(16, Math.floor(this.maxTokens / 4));
    const text = `Previous summary:\n${this.rolling ?? '(none)'}\n\nMessages to fold in:\n${transcript}`;
    // Like a routed conversation: once it is sensitive (labelled, or personal data turned up), it stays so.
    this.sensitive ||= privacyRefusal('cloud', [text]) !== undefined;
    const privacy = this.sensitive ? 'sensitive' : currentPrivacy();
    // A router with no model allowed to read it (a fixed cloud model, a pool without local ones) refuses.
    const decision = await router
      .select({ taskKind: 'summarise', text, ...(privacy ? { privacy } : {}) })
      .catch((error: unknown) => {
        if (privacy === 'sensitive' && CadreError.isInstance(error) && error.code === 'model_unavailable')
          return undefined;
        throw error;
      });
    if (!decision) return undefined;
    // Checked here too: only the policy router applies privacy itself, and a fallback may be cloud.
    if ([decision.ref, ...(decision.fallbacks ?? [])].some((ref) => privacyRefusal(ref.location, [text], privacy)))
      return undefined;
    const reply = await decision.model.invoke(
      [
        new SystemMessage(
          `You keep a running summary of a conversation. Merge the previous summary and the new messages into one concise summary of at most ${target} tokens. Keep facts, decisions, names and open questions; drop pleasantries.`,
        ),
        new HumanMessage(text),
      ],
      signal ? { signal } : {},
    );
    return textOf(reply).trim();
  }

  /** The summary cut to the room the kept messages leave, or nothing when there is no room. */
  private truncatedSummary(): string | undefined {
    const room = this.maxTokens - this.window.reduce((n, m) => n + this.count(m), 0);
    const size = (text: string) => perMessageOverhead + this.enc.encode(summaryHeading + text).length;
    const cut = room - size('');
    if (cut <= 0) return undefined;
    // Tokens can merge across the heading or split a character when cut; trim until it fits.
    let text = this.enc.decode(this.enc.encode(this.rolling ?? '').slice(0, cut));
    while (text && size(text) > room) text = text.slice(0, -1);
    return text || undefined;
  }

  private summaryTokens(): number {
    return this.rolling ? perMessageOverhead + this.enc.encode(summaryHeading + this.rolling).length : 0;
  }

  private count(message: BaseMessage): number {
    return perMessageOverhead + this.enc.encode(textOf(message)).length;
  }
}
