import type { Episode, EpisodeStore, RecallOptions } from './episode-store.js';

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Jaccard overlap of the word sets: lexical, not semantic, but dependency-free and deterministic. */
export function wordOverlap(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return shared === 0 ? 0 : shared / (x.size + y.size - shared);
}

/** An EpisodeStore in memory, ranking by word overlap weighted by importance. */
export class InMemoryEpisodeStore implements EpisodeStore {
  private readonly episodes: Episode[] = [];

  async add(episode: Episode): Promise<void> {
    this.episodes.push(episode);
  }

  async recall(task: string, options: RecallOptions = {}): Promise<Episode[]> {
    return this.episodes
      .filter((e) => !options.lessonsOnly || e.lesson)
      .map((e) => ({ e, score: wordOverlap(task, e.task) * (0.5 + 0.5 * e.importance) }))
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || b.e.createdAt - a.e.createdAt)
      .slice(0, options.k ?? 3)
      .map((s) => s.e);
  }

  async count(): Promise<number> {
    return this.episodes.length;
  }
}
