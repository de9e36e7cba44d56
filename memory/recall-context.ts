import { getEncoding, type Tiktoken } from 'js-tiktoken';
import { wordOverlap } from './in-memory-episode-store.js';
import type { PrivacyRefusal } from '../src/models/privacy-scope.js';
import type { Scope } from './scope.js';

/** Which memory an item came from. */
export type MemoryTier = 'vector' | 'episodic' | 'graph' | 'procedural';

/** One recalled item, with where it came from. */
export interface RecallItem {
  tier: MemoryTier;
  id: string;
  text: string;
  /** 0..1 within its tier, comparable across tiers after normalisation. */
  score: number;
  scope: Scope;
  /** Run, task, episode or document that produced it, when known. */
  source?: string;
  /** The time it refers to, in ms since the epoch: when stored, a fact's `validFrom`, a template's last use. */
  at?: number;
}

/** What `recall` returns: ranked, de-duplicated items that fit the budget, and them as one block. */
export interface RecallResult {
  items: RecallItem[];
  /** A context block for a prompt: one line per item with its provenance. */
  text: string;
  /** Tokens `text` takes. */
  tokens: number;
  /** Items left out because the budget was full. */
  dropped: number;
  /** Why tiers were left out: privacy kept the query from a cloud embedder (the embedder and the kinds of data, never values). */
  withheld?: PrivacyRefusal & { model: string };
}

let encoder: Tiktoken | undefined;
/** Tokens in a text, counted with the cl100k encoding (pure JS, no download). */
export function countTokens(text: string): number {
  encoder ??= getEncoding('cl100k_base');
  return encoder.encode(text).length;
}

/**
 * Ranks items from every tier, drops near-duplicates (the same text recalled from two tiers, or
 * two phrasings with almost all words in common), and keeps the best that fit `tokenBudget`.
 */
export function assembleContext(items: readonly RecallItem[], tokenBudget: number): RecallResult {
  const ranked = [...items].sort((a, b) => b.score - a.score || (b.at ?? 0) - (a.at ?? 0));
  const kept: RecallItem[] = [];
  const lines: string[] = [];
  let tokens = 0;
  let dropped = 0;
  for (const item of ranked) {
    if (kept.some((k) => k.text === item.text || wordOverlap(k.text, item.text) >= 0.9)) continue;
    const line = `- [${item.tier}${item.source ? ` · ${item.source}` : ''}${item.at ? ` · ${new Date(item.at).toISOString().slice(0, 10)}` : ''}] ${item.text.replace(/\s+/g, ' ').trim()}`;
    const cost = countTokens(line) + 1;
    if (tokens + cost > tokenBudget) {
      dropped += 1;
      continue;
    }
    kept.push(item);
    lines.push(line);
    tokens += cost;
  }
  return { items: kept, text: lines.join('\n'), tokens, dropped };
}
