import { CadreError } from './errors.js';
import { addUsage, emptyUsage, type Usage } from './usage.js';

/** Limits for one run; any left out is unlimited. */
export interface BudgetLimits {
  maxSteps?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxWallTimeMs?: number;
}

/** The most a model call about to be made can spend, when known. */
export interface CallEstimate {
  costUsd?: number;
  tokens?: number;
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

  private readonly parent?: Budget;

  /** A budget with a `parent` (a task's budget inside its run's) also spends and checks the parent's. */
  constructor(limits: BudgetLimits = {}, now: () => number = Date.now, parent?: Budget) {
    this.limits = { ...limits };
    this.parent = parent;
    this.now = now;
    this.startedAt = now();
  }

  /**
   * Reserves one step; throws `budget_exceeded` if any limit is already reached, or would be by a
   * call of at most `estimate` (its cost and tokens known or bounded before it is made).
   */
  beforeStep(estimate: CallEstimate = {}): void {
    this.parent?.beforeStep(estimate);
    const { maxSteps, maxTokens, maxCostUsd, maxWallTimeMs } = this.limits;
    if (maxSteps !== undefined && this.steps + 1 > maxSteps) this.exceeded('steps', this.steps + 1, maxSteps);
    if (maxTokens !== undefined) {
      const next = this.usage.totalTokens + (estimate.tokens ?? 0);
      if (this.usage.totalTokens >= maxTokens || next > maxTokens) this.exceeded('tokens', next, maxTokens);
    }
    if (maxCostUsd !== undefined) {
      const next = this.costUsd + (estimate.costUsd ?? 0);
      if (this.costUsd >= maxCostUsd || next > maxCostUsd) this.exceeded('costUsd', next, maxCostUsd);
    }
    const elapsed = this.now() - this.startedAt;
    if (maxWallTimeMs !== undefined && elapsed >= maxWallTimeMs) this.exceeded('wallTimeMs', elapsed, maxWallTimeMs);
    this.steps += 1;
  }

  /** Dollars left before the cost limit (this budget or a parent's, whichever is tighter). */
  remainingCostUsd(): number | undefined {
    const own = this.limits.maxCostUsd === undefined ? undefined : Math.max(0, this.limits.maxCostUsd - this.costUsd);
    const parent = this.parent?.remainingCostUsd();
    if (own === undefined) return parent;
    return parent === undefined ? own : Math.min(own, parent);
  }

  /** The tightest cost limit over this budget and its parents. */
  costLimitUsd(): number | undefined {
    const own = this.limits.maxCostUsd;
    const parent = this.parent?.costLimitUsd();
    if (own === undefined) return parent;
    return parent === undefined ? own : Math.min(own, parent);
  }

  /** The limit this budget (not a parent) has reached, if any; unlike beforeStep it reserves nothing. */
  exhaustedLimit(): BudgetLimit | undefined {
    const { maxSteps, maxTokens, maxCostUsd, maxWallTimeMs } = this.limits;
    if (maxSteps !== undefined && this.steps >= maxSteps) return 'steps';
    if (maxTokens !== undefined && this.usage.totalTokens >= maxTokens) return 'tokens';
    if (maxCostUsd !== undefined && this.costUsd >= maxCostUsd) return 'costUsd';
    if (maxWallTimeMs !== undefined && this.now() - this.startedAt >= maxWallTimeMs) return 'wallTimeMs';
    return undefined;
  }

  /** Adds what earlier processes of a resumed run spent, so its limits hold across restarts. */
  restore(spent: { steps: number; usage: Usage; costUsd: number }): void {
    this.steps += spent.steps;
    this.charge(spent.usage, spent.costUsd);
  }

  /** Records what a model call cost. */
  charge(usage: Usage, costUsd: number): void {
    this.parent?.charge(usage, costUsd);
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
      // `run` for the outermost budget: reaching it stops the whole run, not just one task.
      details: { limit, used, max, scope: this.parent ? 'task' : 'run' },
    });
  }
}
