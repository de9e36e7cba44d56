import { CadreError } from '../src/core/index.js';
import type { Embedder } from '../src/models/embedder.js';
import { defaultHalfLifeMs, defaultRecallWeights, defaultScope, type Episode, type EpisodeStore, type RecallOptions } from './episode-store.js';
import { checkScope, isVisible, type Scope } from './scope.js';

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Jaccard overlap of the word sets: lexical, not semantic, but dependency-free and deterministic. */
export function wordOverlap(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return shared === 0 ? 0 : shared / (x.size + y.size - shared);
}

/** Cosine of two equally long vectors; 0 when either is all zeros. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
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
    const bad = !Array.isArray(given) || given.some((x) => typeof x !== 'number' || !Number.isFinite(x))
      || (embedder !== undefined && given.length !== embedder.dimensions);
    if (bad) throw new CadreError('input_invalid', `Episode ${e.id}: embedding must be ${embedder?.dimensions ?? 'some'} finite numbers`);
    return { episode: withScope(episode, scope), scope, embedding: given };
  }
  if (!embedder) return { episode: withScope(episode, scope), scope };
  const [vector] = await embedder.embed([e.lesson ? `${e.task}\n${e.lesson}` : e.task]);
  return { episode: withScope(episode, scope), scope, ...(vector ? { embedding: vector, embedder: embedder.name } : {}) };
}

/** The default scope is left out, so an episode added without a scope comes back as it went in. */
export function withScope(episode: Omit<Episode, 'scope' | 'embedding'>, scope: Scope): Episode {
  const isDefault = scope.tenant === defaultScope.tenant && !scope.user && !scope.agent && !scope.run;
  return isDefault ? episode : { ...episode, scope };
}

/** Ranks candidates by the score documented on `RecallOptions`; shared so every store ranks alike. */
export async function rankEpisodes(
  task: string, candidates: Iterable<StoredEpisode>, options: RecallOptions, embedder: Embedder | undefined,
): Promise<Episode[]> {
  const scope = checkScope(options.scope ?? defaultScope);
  const halfLife = options.halfLifeMs ?? defaultHalfLifeMs;
  if (!(halfLife > 0)) throw new CadreError('input_invalid', `halfLifeMs must be positive, got ${halfLife}`);
  const w = { ...defaultRecallWeights, ...options.weights };
  const now = options.now ?? Date.now();
  const query = embedder ? (await embedder.embed([task]))[0] : undefined;
  const usable = (c: StoredEpisode) => query !== undefined && c.embedding !== undefined
    && c.embedding.length === query.length && (c.embedder === undefined || c.embedder === embedder?.name);
  const scored: Array<{ e: Episode; score: number }> = [];
  for (const c of candidates) {
    if (options.lessonsOnly && !c.episode.lesson) continue;
    if (!isVisible(c.scope, scope)) continue;
    const sim = usable(c) ? cosineSimilarity(query!, c.embedding!) : wordOverlap(task, c.episode.task);
    if (!(sim > 0)) continue;
    const recency = 0.5 ** (Math.max(0, now - c.episode.createdAt) / halfLife);
    scored.push({ e: c.episode, score: w.similarity * sim + w.recency * recency + w.importance * c.episode.importance });
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
