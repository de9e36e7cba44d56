import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { CadreError } from '../src/core/index.js';
import { estimateMessageTokens } from '../src/models/call-estimate.js';

/**
 * Tokens of conversation an agent sends with each call: its spec's `contextTokens`, else three
 * quarters of the routed model's context window (the rest is left for the answer), else no limit.
 */
export function promptBudget(contextTokens: number | undefined, contextWindow: number | undefined): number | undefined {
  return contextTokens ?? (contextWindow === undefined ? undefined : Math.floor(contextWindow * 0.75));
}

/**
 * The conversation as the next call sends it, within `maxTokens` (estimated as the router does).
 * Past it, the oldest tool outputs are replaced by a note saying what was left out, oldest first;
 * the outputs from `keepFrom` on (the newest step's) and every other message are kept whole, so
 * the model still sees each call it made and what it was told. `messages` itself is not changed.
 * Throws `budget_exceeded` when the conversation does not fit even so.
 */
export function fitConversation(messages: BaseMessage[], maxTokens: number, keepFrom: number): BaseMessage[] {
  let tokens = estimateMessageTokens(messages);
  if (tokens <= maxTokens) return messages;
  const fitted = messages.slice();
  for (let i = 0; i < keepFrom && tokens > maxTokens; i++) {
    const message = fitted[i]!;
    if (!ToolMessage.isInstance(message) || typeof message.content !== 'string') continue;
    const note = new ToolMessage({
      content: `[output of ${message.name ?? 'a tool'} left out to fit the context window: ${message.content.length} characters]`,
      tool_call_id: message.tool_call_id,
      ...(message.name ? { name: message.name } : {}),
      ...(message.status ? { status: message.status } : {}),
    });
    const saved = estimateMessageTokens([message]) - estimateMessageTokens([note]);
    if (saved <= 0) continue;
    tokens -= saved;
    fitted[i] = note;
  }
  if (tokens > maxTokens) {
    throw new CadreError(
      'budget_exceeded',
      `The conversation needs ~${tokens} tokens with every older tool output left out, more than the ${maxTokens} it may send`,
      { details: { limit: 'context', tokens, max: maxTokens } },
    );
  }
  return fitted;
}
