import type { PoolModel } from './pool.js';

/**
 * Tokens `text` takes, erring high: about three characters a token, where English prose runs near
 * four. Budget checks use it, so overestimating is the safe side.
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 3);

/** Tokens a conversation takes: its text plus a few per message for roles and framing. */
export function estimateMessageTokens(messages: readonly { content: unknown }[]): number {
  let tokens = 0;
  for (const m of messages)
    tokens += 4 + estimateTokens(typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''));
  return tokens;
}

/** Highest cost of one call on `m`: the input estimate plus its output cap (or the expected output). */
export function callCost(m: PoolModel, inputTokens: number, expectedOutputTokens: number): number {
  return (inputTokens * m.price.input + (m.maxOutputTokens ?? expectedOutputTokens) * m.price.output) / 1_000_000;
}
