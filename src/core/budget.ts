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

/** Which limit was reached, as a `budget_exceeded` error's details name it. */
export type BudgetLimit = 'steps' | 'tokens' | 'costUsd' | 'wallTimeMs';

/** What a run has spent so far. */
export interface BudgetSpend {
  steps: number;
  usage: Usage;
  costUsd: number;
  elapsedMs: number;
}

/**
 * A model call's claim on a budget, made before the call. `settle` replaces it with what the call
 * really used; `release` drops it when the call failed without a reply. Either may be called once.
 */
export interface Reservation {
  /** Charges what the call used; throws `budget_exceeded` when that went past a limit. */
  settle(usage: Usage, costUsd: number): void;
  /** Drops the claim; the step still counts. */
  release(): void;
}

/**
 * Tracks what a run spends against its limits. `beforeStep()` is called before every model call: it
 * reserves the most the call can cost, so calls in flight together never promise more than the limit,
 * and throws `budget_exceeded` when the next step would go past one, so a run stops cleanly between
 * steps and keeps everything it has.
 */
export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  private steps = 0;
  private usage: Usage = emptyUsage();
  private costUsd = 0;
  /** Cost and tokens held by calls in flight, until they settle. */
  private heldCostUsd = 0;
  private heldTokens = 0;
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
   * Reserves one step and, when known, the most the call can spend (`estimate`); throws
   * `budget_exceeded` if any limit is reached already, or would be by this call together with every
   * call still in flight. All levels are checked before any is held, so a refusal holds nothing.
   */
  beforeStep(estimate: CallEstimate = {}): Reservation {
    for (const level of this.chain()) level.check(estimate);
    this.hold(estimate, 1);
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      this.hold(estimate, -1);
      return true;
    };
    return {
      settle: (usage, costUsd) => {
        if (!close()) return;
        this.charge(usage, costUsd);
        this.overrun();
      },
      release: () => void close(),
    };
  }

  /** This budget and its parents, innermost first. */
  private chain(): Budget[] {
    return this.parent ? [this, ...this.parent.chain()] : [this];
  }

  private check(estimate: CallEstimate): void {
    const { maxSteps, maxTokens, maxCostUsd, maxWallTimeMs } = this.limits;
    if (maxSteps !== undefined && this.steps + 1 > maxSteps) this.exceeded('steps', this.steps + 1, maxSteps);
    if (maxTokens !== undefined) {
      const next = this.usage.totalTokens + this.heldTokens + (estimate.tokens ?? 0);
      if (this.usage.totalTokens >= maxTokens || next > maxTokens) this.exceeded('tokens', next, maxTokens);
    }
    if (maxCostUsd !== undefined) {
      const next = this.costUsd + this.heldCostUsd + (estimate.costUsd ?? 0);
      if (this.costUsd >= maxCostUsd || next > maxCostUsd) this.exceeded('costUsd', next, maxCostUsd);
    }
    const elapsed = this.now() - this.startedAt;
    if (maxWallTimeMs !== undefined && elapsed >= maxWallTimeMs) this.exceeded('wallTimeMs', elapsed, maxWallTimeMs);
  }

  /** Takes (`sign` 1) or gives back (-1) a call's step and estimate, here and in every parent. */
  private hold(estimate: CallEstimate, sign: 1 | -1): void {
    for (const level of this.chain()) {
      if (sign === 1) level.steps += 1;
      level.heldCostUsd = Math.max(0, level.heldCostUsd + sign * (estimate.costUsd ?? 0));
      level.heldTokens = Math.max(0, level.heldTokens + sign * (estimate.tokens ?? 0));
    }
  }

  /**
   * A call that reported more than it could (a provider ignoring its output cap, a call of unknown
   * size) and so took spending past a limit stops the run here, saying by how much.
   */
  private overrun(): void {
    for (const level of this.chain()) {
      const { maxTokens, maxCostUsd } = level.limits;
      if (maxCostUsd !== undefined && level.costUsd > maxCostUsd)
        level.exceeded('costUsd', level.costUsd, maxCostUsd, 'a call cost more than its bound');
      if (maxTokens !== undefined && level.usage.totalTokens > maxTokens)
        level.exceeded('tokens', level.usage.totalTokens, maxTokens, 'a call used more than its bound');
    }
  }

  /** Dollars left before the cost limit, less what calls in flight hold (this budget or a parent's, whichever is tighter). */
  remainingCostUsd(): number | undefined {
    const own =
      this.limits.maxCostUsd === undefined
        ? undefined
        : Math.max(0, this.limits.maxCostUsd - this.costUsd - this.heldCostUsd);
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

  /** What has been spent so far: steps begun, tokens, dollars and time. */
  spend(): BudgetSpend {
    return {
      steps: this.steps,
      usage: { ...this.usage },
      costUsd: this.costUsd,
      elapsedMs: this.now() - this.startedAt,
    };
  }

  private exceeded(limit: BudgetLimit, used: number, max: number, overrun?: string): never {
    const message = overrun
      ? `Budget exceeded: ${limit} reached ${used}, over its limit ${max} by ${used - max} (${overrun})`
      : `Budget exceeded: ${limit} would reach ${used} (limit ${max})`;
    throw new CadreError('budget_exceeded', message, {
      // `run` for the outermost budget: reaching it stops the whole run, not just one task.
      details: { limit, used, max, scope: this.parent ? 'task' : 'run', ...(overrun ? { over: used - max } : {}) },
    });
  }
}
