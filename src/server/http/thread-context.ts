import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import { ShortTermMemory } from '../../../memory/short-term-memory.js';
import type { ModelRouter } from '../../models/router.js';
import type { ThreadMessage, ThreadRecord, ThreadRecords } from '../../runtime/store/index.js';

/** One answered exchange of a thread: the user's message and the reply of the run it started. */
export interface ThreadTurn {
  user: ThreadMessage;
  reply: ThreadMessage;
}

/** Where the history begins in a run's goal, and where the new message begins. */
export const historyHeading = '## Conversation so far\n';
export const messageHeading = '## New message\n';
const summaryHeading = 'Summary of the earlier conversation:\n';

// The tokenizer ShortTermMemory counts in by default; built once, on first use.
let encoder: Tiktoken | undefined;
const tokens = (text: string) => (encoder ??= getEncoding('cl100k_base')).encode(text).length;

/** The thread's answered turns in order; a rolled-back or unanswered message is no part of its history. */
export function answeredTurns(messages: readonly ThreadMessage[]): ThreadTurn[] {
  const replies = new Map<string, ThreadMessage>();
  for (const m of messages) if (m.role === 'assistant' && m.runId) replies.set(m.runId, m);
  const turns: ThreadTurn[] = [];
  for (const user of messages) {
    const reply = user.role === 'user' && user.status === 'started' && user.runId && replies.get(user.runId);
    if (reply) turns.push({ user, reply });
  }
  return turns;
}

/** What {@link threadHistory} needs. */
export interface ThreadHistoryOptions {
  store: Pick<ThreadRecords, 'setSummary'>;
  thread: ThreadRecord;
  messages: readonly ThreadMessage[];
  /** The model that folds old turns into the summary; asked for only when the turns outgrow the window. */
  summariser: () => Promise<BaseChatModel | ModelRouter | undefined>;
}

/**
 * The earlier turns as a run of the thread reads them, within the thread's token window: the turns
 * past the window are folded into a rolling summary by {@link ShortTermMemory} (dropped without a
 * summariser), and the summary with how far it reaches is kept with the thread, so each turn is
 * folded once. Undefined when the thread has no earlier turn.
 */
export async function threadHistory(options: ThreadHistoryOptions): Promise<string | undefined> {
  const { store, thread } = options;
  const entries = pending(thread, answeredTurns(options.messages));
  if (entries.length === 0 && thread.summary === undefined) return undefined;
  const seed = thread.summary !== undefined ? new SystemMessage(summaryHeading + thread.summary) : undefined;
  const fill = (memory: ShortTermMemory) => {
    if (seed) memory.add(seed);
    for (const entry of entries) memory.add(entry.message);
    return memory;
  };
  const maxTokens = thread.contextTokens;
  let memory = fill(new ShortTermMemory({ maxTokens, keepLast: 0 }));
  if (memory.tokenCount() > maxTokens) {
    const summariser = await options.summariser();
    if (summariser) memory = fill(new ShortTermMemory({ maxTokens, keepLast: 0, summariser }));
  }
  const kept = await memory.messages();
  const keptSet = new Set(kept);
  const firstKept = entries.findIndex((entry) => keptSet.has(entry.message));
  const folded = firstKept === -1 ? entries.length : firstKept;
  if (folded > 0) {
    const last = entries[folded - 1]!;
    const summary = memory.summary ?? (seed && keptSet.has(seed) ? thread.summary : undefined);
    await store.setSummary(thread.id, summary, { seq: last.seq, reply: last.reply });
  }
  return render(kept, maxTokens);
}

/** A run's goal: the new message, after the earlier turns when there are any. */
export function threadGoal(history: string | undefined, text: string): string {
  return history === undefined ? text : `${historyHeading}${history}\n\n${messageHeading}${text}`;
}

interface Entry {
  seq: number;
  reply: boolean;
  message: BaseMessage;
}

/** The turns' messages not yet folded into the thread's summary. */
function pending(thread: ThreadRecord, turns: ThreadTurn[]): Entry[] {
  const entries: Entry[] = [];
  const after = (seq: number, reply: boolean) =>
    !thread.folded || seq > thread.folded.seq || (seq === thread.folded.seq && reply && !thread.folded.reply);
  for (const { user, reply } of turns) {
    if (after(user.seq, false)) entries.push({ seq: user.seq, reply: false, message: new HumanMessage(user.text) });
    if (after(user.seq, true)) entries.push({ seq: user.seq, reply: true, message: new AIMessage(replyText(reply)) });
  }
  return entries;
}

const replyText = (reply: ThreadMessage) =>
  reply.status === 'completed'
    ? reply.text
    : `(${reply.status === 'cancelled' ? 'interrupted' : reply.status}) ${reply.text}`;

/**
 * The kept messages as text. ShortTermMemory's count allows each message a few tokens for its role
 * and separators; should the joined text still come out over the window, the oldest lines go.
 */
function render(messages: BaseMessage[], maxTokens: number): string {
  const lines = messages.map((m) => {
    const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
    return m.getType() === 'system' ? text : `${m.getType() === 'human' ? 'user' : 'assistant'}: ${text}`;
  });
  while (lines.length > 1 && tokens(lines.join('\n')) > maxTokens) lines.shift();
  let text = lines.join('\n');
  while (text && tokens(text) > maxTokens) text = text.slice(0, Math.floor(text.length * 0.9));
  return text;
}
