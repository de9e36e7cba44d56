import type { AIMessage } from '@langchain/core/messages';
import type { ModelRef } from './model-ref.js';
import { costOf } from './pricing.js';
import { usageFromMessage } from './usage.js';

/** What the routed model adds to each reply's `response_metadata.cadre`: who answered, and at what cost. */
export interface RoutedReplyInfo {
  /** The pool id of the model that answered. */
  model: string;
  provider: string;
  /** The model's name at its provider. */
  name: string;
  location: 'local' | 'cloud';
  /** Of every call this reply took (a cascade's rejected answers and checks included). */
  costUsd: number;
}

/** Who answered a reply, when a policy-router model made it. */
export const routedReplyInfo = (message: Pick<AIMessage, 'response_metadata'>): RoutedReplyInfo | undefined =>
  message.response_metadata?.cadre as RoutedReplyInfo | undefined;

/** What a reply cost: the routed model's own figure (its price, cascade attempts included), else the price table's. */
export function costOfReply(
  reply: Pick<AIMessage, 'response_metadata' | 'usage_metadata'>,
  ref: Pick<ModelRef, 'model' | 'location'>,
): { costUsd: number; model: string } {
  const info = routedReplyInfo(reply);
  return info
    ? { costUsd: info.costUsd, model: info.name }
    : { costUsd: costOf(ref, usageFromMessage(reply)).usd, model: ref.model };
}
