import { CadreError } from '../core/index.js';
import type { Embedder } from './embedder.js';

/** The size of the vectors a hashing embedder makes. */
export interface HashingEmbedderOptions {
  /** Default 384. */
  dimensions?: number;
}

// Character 3-grams only make "plan" and "plans" neighbours; words should still dominate.
const ngramWeight = 0.5;
const bigramWeight = 0.7;

/** FNV-1a, 32 bits: stable across runs and platforms, unlike any built-in hash. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Each feature with its raw count and the weight of its kind. */
function features(text: string): Map<string, { count: number; weight: number }> {
  const counts = new Map<string, { count: number; weight: number }>();
  const add = (key: string, weight: number) => {
    const seen = counts.get(key);
    if (seen) seen.count++;
    else counts.set(key, { count: 1, weight });
  };
  const tokens = words(text);
  tokens.forEach((word, i) => {
    add(`w:${word}`, 1);
    if (i > 0) add(`b:${tokens[i - 1]} ${word}`, bigramWeight);
    const padded = `^${word}$`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, ngramWeight);
  });
  return counts;
}

/**
 * Feature hashing of words, word pairs and character 3-grams into a fixed-size unit vector.
 * Lexical, not semantic: "car" and "automobile" are unrelated to it. Deterministic, offline and
 * free, for tests, examples and machines without an embedding model.
 */
export class HashingEmbedder implements Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** Computed in-process: nothing leaves the machine. */
  readonly location = 'local' as const;
  readonly #empty: number[];

  constructor({ dimensions = 384 }: HashingEmbedderOptions = {}) {
    if (!Number.isInteger(dimensions) || dimensions < 2) {
      throw new CadreError(
        'config_invalid',
        `HashingEmbedder dimensions must be an integer of at least 2, got ${dimensions}`,
        { details: { dimensions } },
      );
    }
    this.dimensions = dimensions;
    this.name = `hashing-${dimensions}`;
    // Empty text gets a fixed unit vector, so cosine similarity stays defined.
    this.#empty = new Array<number>(dimensions).fill(0);
    this.#empty[0] = 1;
  }

  /** One unit vector per text, in order. */
  embed(texts: readonly string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.#embedOne(text)));
  }

  #embedOne(text: string): number[] {
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, { count, weight }] of features(text)) {
      const hash = fnv1a(feature);
      // The top bit picks the sign so collisions cancel out on average instead of piling up.
      const sign = hash & 0x80000000 ? -1 : 1;
      // Sublinear tf: a word said ten times is not ten times as telling.
      vector[(hash & 0x7fffffff) % this.dimensions]! += sign * weight * (1 + Math.log(count));
    }
    const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
    if (norm === 0) return [...this.#empty];
    return vector.map((x) => x / norm);
  }
}
