import { Ollama } from 'ollama';
import { CadreError } from '../core/index.js';
import type { Embedder } from './embedder.js';
import { toModelError } from './model-errors.js';
import { locationOf } from './model-ref.js';

/** The Ollama server and embedding model, and how requests to it are sized and bounded. */
export interface OllamaEmbedderOptions {
  /** Default `http://127.0.0.1:11434`. */
  baseUrl?: string;
  /** e.g. `nomic-embed-text`. */
  model: string;
  /** The size the model returns. Checked on every response; learned from the first one when not given. */
  dimensions?: number;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Texts per request. Default 64. */
  batchSize?: number;
  headers?: Record<string, string>;
  /** Default `local`, as for Ollama chat models; say `cloud` for an Ollama server someone else runs. */
  location?: 'local' | 'cloud';
}

/**
 * Checks that a server gave one vector per text, all of `dimensions` finite numbers (or all of one
 * length when `dimensions` is unknown), and returns that length. A bad answer is `provider_error`.
 */
export function checkEmbeddings(
  vectors: unknown,
  { count, dimensions, where }: { count: number; dimensions?: number; where: string },
): number {
  const fail = (why: string) =>
    new CadreError('provider_error', `${where} returned bad embeddings: ${why}`, { details: { where } });
  if (!Array.isArray(vectors) || vectors.length !== count)
    throw fail(`expected ${count} vectors, got ${Array.isArray(vectors) ? vectors.length : typeof vectors}`);
  let size = dimensions;
  vectors.forEach((vector: unknown, i) => {
    if (!Array.isArray(vector) && !(vector instanceof Float32Array)) throw fail(`vector ${i} is not an array`);
    size ??= vector.length;
    if (vector.length !== size || size === 0) throw fail(`vector ${i} has ${vector.length} numbers, expected ${size}`);
    for (const x of Array.from(vector as ArrayLike<unknown>))
      if (typeof x !== 'number' || !Number.isFinite(x)) throw fail(`vector ${i} holds a non-finite number`);
  });
  return size ?? 0;
}

/** Runs `embedBatch` over `texts` in batches, in order, checking and learning the dimension. */
export function batchedEmbedder(
  {
    name,
    dimensions,
    batchSize,
    location,
  }: { name: string; dimensions?: number; batchSize: number; location?: 'local' | 'cloud' },
  embedBatch: (batch: string[], signal?: AbortSignal) => Promise<unknown>,
): Embedder {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new CadreError('config_invalid', `${name}: batchSize must be a positive integer, got ${batchSize}`);
  let known = dimensions;
  return {
    name,
    ...(location ? { location } : {}),
    get dimensions(): number {
      // Reading it before the first call would otherwise hand a store a size of 0 to build with.
      if (known === undefined)
        throw new CadreError(
          'config_invalid',
          `${name}: dimensions are unknown until the first embed call; pass dimensions`,
        );
      return known;
    },
    async embed(texts, options = {}) {
      const out: number[][] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = texts.slice(start, start + batchSize);
        const vectors = await embedBatch(batch, options.signal);
        known = checkEmbeddings(vectors, { count: batch.length, dimensions: known, where: name });
        for (const vector of vectors as ArrayLike<number>[]) out.push(Array.from(vector));
      }
      return out;
    },
  };
}

/** Embeddings from Ollama's `/api/embed` through the `ollama` client. */
export function createOllamaEmbedder(options: OllamaEmbedderOptions): Embedder {
  const host = (options.baseUrl ?? 'http://127.0.0.1:11434').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ref = { provider: 'ollama' as const, model: options.model };
  const location = options.location ?? locationOf('ollama');
  return batchedEmbedder(
    { name: `ollama:${options.model}`, dimensions: options.dimensions, batchSize: options.batchSize ?? 64, location },
    async (input, signal) => {
      // The ollama client takes no signal or timeout, so both ride in through its fetch.
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const client = new Ollama({
        host,
        fetch: (url, init) => fetch(url, { ...init, signal: combined }),
        ...(options.headers ? { headers: options.headers } : {}),
      });
      try {
        const response = await client.embed({ model: options.model, input });
        return response.embeddings;
      } catch (error) {
        if (timeout.aborted && !signal?.aborted) {
          throw new CadreError('timeout', `ollama:${options.model} did not answer within ${timeoutMs} ms`, {
            cause: error,
            details: { ...ref, timeoutMs },
          });
        }
        throw toModelError(error, ref);
      }
    },
  );
}
