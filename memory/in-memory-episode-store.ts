import { CadreError } from '../src/core/index.js';
import type { Embedder } from '../src/models/embedder.js';
import { embedIfAllowed } from '../src/models/private-embedder.js';
import {
  defaultHalfLifeMs,
  defaultRecallWeights,
  defaultScope,
  type Episode,
  type EpisodeStore,
  type RecallOptions,
} from './episode-store.js';
import { checkScope, isVisible, type Scope } from './scope.js';
import { cosineSimilarity } from './vectors.js';

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Jaccard overlap of the word sets: lexical, not semantic, but dependency-free and deterministic. */
export function wordOverlap(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return shared === 0 ? 0 : shared / (x.size + y.size - shared);
}

/** An episode as a store keeps it: the scope checked, the embedding tagged with its embedder. */
export interface StoredEpisode {
  episode: Episode;
  scope: Scope;
  embedding?: ArrayLike<number>;
  /** Name of the embedder that made `embedding`; undefined when the caller supplied it. */
  embedder?: string;
}

/**
 * Checks an episode for `add` and embeds it when the store has an embedder and the episode has no
 * vector. Shared by the episode stores so both accept and reject the same input.
 */
export async function prepareEpisode(e: Episode, embedder: Embedder | undefined): Promise<StoredEpisode> {
  const scope = checkScope(e.scope ?? defaultScope);
  const { embedding: given, scope: _scope, ...episode } = e;
  if (given !== undefined) {
    const bad =
      !Array.isArray(given) ||
      given.some((x) => typeof x !== 'number' || !Number.isFinite(x)) ||
      (embedder !== undefined && given.length !== embedder.dimensions);
    if (bad)
      throw new CadreError(
        'input_invalid',
        `Episode ${e.id}: embedding must be ${embedder?.dimensions ?? 'some'} finite numbers`,
      );
    return { episode: withScope(episode, scope), scope, embedding: given };
  }
  if (!embedder) return { episode: withScope(episode, scope), scope };
  // Text privacy keeps from the embedder is stored without a vector and found by word overlap.
  const vector = await embedIfAllowed(embedder, e.lesson ? `${e.task}\n${e.lesson}` : e.task);
  return {
    episode: withScope(episode, scope),
    scope,
    ...(vector ? { embedding: vector, embedder: embedder.name } : {}),
  };
}

/** The default scope is left out, so an episode added without a scope comes back as it went in. */
export function withScope(episode: Omit<Episode, 'scope' | 'embedding'>, scope: Scope): Episode {
  const isDefault = scope.tenant === defaultScope.tenant && !scope.user && !scope.agent && !scope.run;
  return isDefault ? episode : { ...episode, scope };
}

/** Ranks candidates by the score documented on `RecallOptions`; shared so every store ranks alike. */
/** The recall score: weighted similarity, recency (halving every `halfLifeMs`) and importance. */
export function recallScorer(options: RecallOptions): (sim: number, createdAt: number, importance: number) => number {
  const halfLife = options.halfLifeMs ?? defaultHalfLifeMs;
  if (!(halfLife > 0)) throw new CadreError('input_invalid', `halfLifeMs must be positive, got ${halfLife}`);
  const w = { ...defaultRecallWeights, ...options.weights };
  const now = options.now ?? Date.now();
  return (sim, createdAt, importance) =>
    w.similarity * sim + w.recency * 0.5 ** (Math.max(0, now - createdAt) / halfLife) + w.importance * importance;
}

/** Similarity of a stored episode to the query: cosine when both were embedded alike, else word overlap. */
export function episodeSimilarity(
  task: string,
  query: ArrayLike<number> | undefined,
  embedderName: string | undefined,
  stored: { task: string; embedding?: ArrayLike<number>; embedder?: string },
): number {
  const usable =
    query !== undefined &&
    stored.embedding !== undefined &&
    stored.embedding.length === query.length &&
    (stored.embedder === undefined || stored.embedder === embedderName);
  return usable ? cosineSimilarity(query, stored.embedding!) : wordOverlap(task, stored.task);
}

/** Ranks candidates for a recall; shared by both stores so they order episodes the same way. */
export async function rankEpisodes(
  task: string,
  candidates: Iterable<StoredEpisode>,
  options: RecallOptions,
  embedder: Embedder | undefined,
): Promise<Episode[]> {
  const scope = checkScope(options.scope ?? defaultScope);
  const score = recallScorer(options);
  const query = embedder ? await embedIfAllowed(embedder, task) : undefined;
  const scored: Array<{ e: Episode; score: number }> = [];
  for (const c of candidates) {
    if (options.lessonsOnly && !c.episode.lesson) continue;
    if (!isVisible(c.scope, scope)) continue;
    const sim = episodeSimilarity(task, query, embedder?.name, {
      task: c.episode.task,
      ...(c.embedding ? { embedding: c.embedding } : {}),
      ...(c.embedder ? { embedder: c.embedder } : {}),
    });
    if (!(sim > 0)) continue;
    scored.push({ e: c.episode, score: score(sim, c.episode.createdAt, c.episode.importance) });
  }
  return scored
    .sort((a, b) => b.score - a.score || b.e.createdAt - a.e.createdAt || (a.e.id < b.e.id ? -1 : 1))
    .slice(0, options.k ?? 3)
    .map((s) => s.e);
}

/** An EpisodeStore in memory, for tests and single processes. */
export class InMemoryEpisodeStore implements EpisodeStore {
  // Keyed by id, so adding an episode again replaces it (the ReflexionAgent re-adds replayed lessons).
  private readonly episodes = new Map<string, StoredEpisode>();
  private readonly embedder: Embedder | undefined;

  constructor(options: { embedder?: Embedder } = {}) {
    this.embedder = options.embedder;
  }

  async add(episode: Episode): Promise<void> {
    const stored = await prepareEpisode(episode, this.embedder);
    this.episodes.set(episode.id, stored);
  }

  async recall(task: string, options: RecallOptions = {}): Promise<Episode[]> {
    return rankEpisodes(task, this.episodes.values(), options, this.embedder);
  }

  async count(): Promise<number> {
    return this.episodes.size;
  }
}
