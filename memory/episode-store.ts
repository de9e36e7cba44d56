import type { Scope } from './scope.js';

/** Something an agent lived through: a task attempt, its outcome, and what was learned. */
export interface Episode {
  id: string;
  runId: string;
  taskId: string;
  /** The task's instruction or a summary of it: what similarity is judged on. */
  task: string;
  outcome: 'success' | 'failure';
  /** A reflection: what to do differently next time. */
  lesson?: string;
  /** 0..1: how much this episode should weigh in recall. */
  importance: number;
  createdAt: number;
  /** Who the episode belongs to. Absent means `{ tenant: 'default' }`, and recall omits it then. */
  scope?: Scope;
  /** What was done: the steps taken, for a reader of the episode rather than for ranking. */
  trajectory?: string;
  /**
   * A vector of `task` (+ lesson) from the store's embedder; a store with an embedder makes one
   * when this is absent. An index detail: recall does not return it.
   */
  embedding?: number[];
}

/** How much each part of an episode's recall score counts; see {@link RecallOptions}. */
export interface RecallWeights {
  similarity?: number;
  recency?: number;
  importance?: number;
}

/**
 * How recall ranks. Each candidate scores
 * `weights.similarity × sim + weights.recency × 0.5^(age / halfLifeMs) + weights.importance × importance`,
 * where `sim` is the cosine of the embeddings when the store has an embedder (word overlap,
 * `wordOverlap`, for an episode without a usable embedding or a store without an embedder) and
 * `age = now − createdAt`. Only episodes with `sim > 0` are candidates; ties go to the newer episode.
 */
export interface RecallOptions {
  /** Default 3. */
  k?: number;
  /** Only episodes with a lesson. */
  lessonsOnly?: boolean;
  /** Who asks; only episodes visible in this scope (see `isVisible`) come back. Default `{ tenant: 'default' }`. */
  scope?: Scope;
  /** Defaults: similarity 0.6, recency 0.2, importance 0.2. */
  weights?: RecallWeights;
  /** Recency half-life. Default 7 days. */
  halfLifeMs?: number;
  /** The time ages are measured from. Default `Date.now()`. */
  now?: number;
}

/** Stores episodes and recalls the ones most like a new task. */
export interface EpisodeStore {
  /** Adds an episode, replacing one with the same id. A bad scope is `input_invalid`. */
  add(episode: Episode): Promise<void>;
  /** The top `k` visible episodes by the score documented on `RecallOptions`, best first. */
  recall(task: string, options?: RecallOptions): Promise<Episode[]>;
  /** How many episodes the store holds, in every scope. */
  count(): Promise<number>;
}

/** The scope of an episode or query that names none. */
export const defaultScope: Scope = Object.freeze({ tenant: 'default' });
/** Recall weights when a query gives none. */
export const defaultRecallWeights: Required<RecallWeights> = Object.freeze({
  similarity: 0.6,
  recency: 0.2,
  importance: 0.2,
});
/** Recency half-life when a query gives none: 7 days. */
export const defaultHalfLifeMs = 7 * 24 * 60 * 60 * 1000;
