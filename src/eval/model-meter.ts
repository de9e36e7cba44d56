import { addUsage, emptyUsage, type Usage } from '../core/index.js';

/**
 * What one case's model calls cost: calls that reached a model, calls answered from the cache, and
 * the tokens and dollars of the former. It also numbers repeats of one prompt within the case, so
 * that N samples of the same prompt (self-consistency) are cached as N answers, not one.
 */
export class ModelMeter {
  calls = 0;
  cacheHits = 0;
  usage: Usage = emptyUsage();
  costUsd = 0;
  private readonly repeats = new Map<string, number>();

  /** 0 the first time this prompt key is seen in the case, 1 the next, and so on. */
  occurrence(key: string): number {
    const seen = this.repeats.get(key) ?? 0;
    this.repeats.set(key, seen + 1);
    return seen;
  }

  /** Counts a call that reached a model. */
  charge(usage: Usage, costUsd: number): void {
    this.calls += 1;
    this.usage = addUsage(this.usage, usage);
    this.costUsd += costUsd;
  }
}
