import type { AIMessage } from '@langchain/core/messages';
import type { Usage } from '../core/index.js';

/** Token usage a provider reported on a message; zeros when it reported none. */
export function usageFromMessage(message: Pick<AIMessage, 'usage_metadata'>): Usage {
  const u = message.usage_metadata;
  const inputTokens = u?.input_tokens ?? 0;
  const outputTokens = u?.output_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: u?.total_tokens ?? inputTokens + outputTokens };
}
