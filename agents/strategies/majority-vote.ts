/** Votes per answer, in the order answers first appeared. */
export interface VoteCount {
  /** The answer as first given. */
  answer: string;
  votes: number;
}

/** The default key answers vote under: case, surrounding space, inner runs of space and a final period do not count. */
export const normalizeAnswer = (answer: string): string =>
  answer.trim().replace(/\s+/g, ' ').replace(/\.$/, '').toLowerCase();

/** A plurality vote kept as samples arrive; ties go to the answer that appeared first. */
export class MajorityVote {
  private readonly counts = new Map<string, VoteCount>();
  private cast = 0;

  constructor(private readonly normalize: (answer: string) => string = normalizeAnswer) {}

  add(answer: string): void {
    const key = this.normalize(answer);
    const count = this.counts.get(key);
    if (count) count.votes += 1;
    else this.counts.set(key, { answer, votes: 1 });
    this.cast += 1;
  }

  /** The leading answer and its share of the votes cast; undefined before any vote. */
  leader(): { answer: string; votes: number; confidence: number } | undefined {
    const [first] = this.ranked();
    return first && { ...first, confidence: first.votes / this.cast };
  }

  /** Whether `remaining` more votes could no longer change the leader. */
  certain(remaining: number): boolean {
    const [first, second] = this.ranked();
    // Strictly ahead: a tie would go to whichever appeared first, which a later answer cannot be.
    return first !== undefined && first.votes > (second?.votes ?? 0) + remaining;
  }

  /** Votes of the leader and of the runner-up. */
  standing(): { leader?: number; runnerUp?: number } {
    const [first, second] = this.ranked();
    return { ...(first ? { leader: first.votes } : {}), ...(second ? { runnerUp: second.votes } : {}) };
  }

  /** Votes per answer as first given. */
  tally(): Record<string, number> {
    return Object.fromEntries([...this.counts.values()].map((c) => [c.answer, c.votes]));
  }

  private ranked(): VoteCount[] {
    // Stable sort: equal counts keep their first-appearance order.
    return [...this.counts.values()].sort((a, b) => b.votes - a.votes);
  }
}
