import { describe, expect, it } from 'vitest';
import { Budget, CadreError } from 'cadre';

const usage = (n: number) => ({ inputTokens: n, outputTokens: 0, totalTokens: n });

describe('Budget', () => {
  it('allows exactly maxSteps steps', () => {
    const budget = new Budget({ maxSteps: 2 });
    budget.beforeStep();
    budget.beforeStep();
    expect(() => budget.beforeStep()).toThrow(/steps/);
    expect(budget.spend().steps).toBe(2);
  });

  it('stops the next step once cost or tokens reached the limit', () => {
    const budget = new Budget({ maxCostUsd: 0.01, maxTokens: 1000 });
    budget.beforeStep();
    budget.charge(usage(10), 0.02);
    try {
      budget.beforeStep();
      expect.unreachable();
    } catch (error) {
      expect(CadreError.isInstance(error) && error.code).toBe('budget_exceeded');
      expect((error as CadreError).details).toMatchObject({ limit: 'costUsd', max: 0.01 });
    }
  });

  it('measures wall time with the injected clock', () => {
    let now = 0;
    const budget = new Budget({ maxWallTimeMs: 100 }, () => now);
    budget.beforeStep();
    now = 150;
    expect(() => budget.beforeStep()).toThrow(/wallTimeMs/);
    expect(budget.remainingWallTimeMs()).toBe(0);
  });
});
