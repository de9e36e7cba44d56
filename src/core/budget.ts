import { CadreError } from './errors.js';
import { addUsage, emptyUsage, type Usage } from './usage.js';

/** Limits for one run; any left out is unlimited. */
export interface BudgetLimits {
  maxSteps?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxWallTimeMs?: number;
}

export type BudgetLimit = 'steps' | 'tokens' | 'costUsd' | 'wallTimeMs';

/** What a run has spent so far. */
export interface BudgetSpend {
  steps: number;
  usage: Usage;
  costUsd: number;
  elapsedMs: number;
}

/**
 * Tracks what a run spends against its limits. `beforeStep()` is called before every model call
 * and throws `budget_exceeded` when the next step would go past a limit, so a run stops cleanly
 * between steps and keeps everything it has.
 */
export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  private steps = 0;
  private usage: Usage = emptyUsage();
  private costUsd = 0;
  private readonly startedAt: number;
  private readonly now: () => number;

  constructor(limits: BudgetLimits = {}, now: () => number = Date.now) {
    this.limits = { ...limits };
    this.now = now;
    this.startedAt = now();
  }

  /** Reserves one step; throws `budget_exceeded` if any limit is already reached. */
  beforeStep(): void {
    const { maxSteps, maxTokens, maxCostUsd, maxWallTimeMs } = this.limits;
    if (maxSteps !== undefined && this.steps + 1 > maxSteps) this.exceeded('steps', this.steps + 1, maxSteps);
    if (maxTokens !== undefined && this.usage.totalTokens >= maxTokens) {
      this.exceeded('tokens', this.usage.totalTokens, maxTokens);
    }
    if (maxCostUsd !== undefined && this.costUsd >= maxCostUsd) this.exceeded('costUsd', this.costUsd, maxCostUsd);
    const elapsed = this.now() - this.startedAt;
    if (maxWallTimeMs !== undefined && elapsed >= maxWallTimeMs) this.exceeded('wallTimeMs', elapsed, maxWallTimeMs);
    this.steps += 1;
  }

  /** Records what a model call cost. */
  charge(usage: Usage, costUsd: number): void {
    this.usage = addUsage(this.usage, usage);
    this.costUsd += costUsd;
  }

  /** Milliseconds left before the wall-time limit, or undefined when there is none. */
  remainingWallTimeMs(): number | undefined {
    const max = this.limits.maxWallTimeMs;
    return max === undefined ? undefined : Math.max(0, max - (this.now() - this.startedAt));
  }

  spend(): BudgetSpend {
    return { steps: this.steps, usage: { ...this.usage }, costUsd: this.costUsd, elapsedMs: this.now() - this.startedAt };
  }

  private exceeded(limit: BudgetLimit, used: number, max: number): never {
    throw new CadreError('budget_exceeded', `Budget exceeded: ${limit} would reach ${used} (limit ${max})`, {
      details: { limit, used, max },
    });
  }
}
