import type { Usage } from '../core/index.js';
import type { ModelRef } from './model-ref.js';

/** US dollars per million tokens. */
export interface Price {
  input: number;
  output: number;
}

/**
 * List prices of well-known cloud models, matched by the longest model-name prefix. Override or
 * extend with your own table; a cloud model with no entry is reported as unpriced (cost 0).
 */
export const defaultPrices: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5': { input: 1.25, output: 10 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-haiku-4': { input: 1, output: 5 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-opus-4': { input: 15, output: 75 },
};

/** What a call cost. `priced` is false for a cloud model missing from the table. */
export interface Cost {
  usd: number;
  priced: boolean;
}

/** Cost of `usage` on `ref`: zero for local models, the table's price for cloud ones. */
export function costOf(
  ref: Pick<ModelRef, 'model' | 'location'>,
  usage: Usage,
  prices: Readonly<Record<string, Price>> = defaultPrices,
): Cost {
  if (ref.location === 'local') return { usd: 0, priced: true };
  const key = Object.keys(prices)
    .filter((prefix) => ref.model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  const price = key ? prices[key] : undefined;
  if (!price) return { usd: 0, priced: false };
  return { usd: (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000, priced: true };
}
