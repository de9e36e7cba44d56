import type { CaseStatus, EvalResults } from './eval-results.js';

/** One case whose outcome changed between two runs of a suite. */
export interface CaseChange {
  id: string;
  before: CaseStatus;
  now: CaseStatus;
  /** Why it fails now, when it does. */
  reason?: string;
}

/** How a run of a suite compares with an earlier one, over the cases both ran. */
export interface EvalComparison {
  /** Cases both runs ran (neither skipped). */
  shared: number;
  passRateBefore: number;
  passRateNow: number;
  /** passRateBefore - passRateNow: positive when the pass rate fell. */
  drop: number;
  maxDrop: number;
  /** Passed before, fail (or error) now. */
  regressions: CaseChange[];
  /** Failed before, pass now. */
  fixed: CaseChange[];
  /** Cases of the earlier run that this one lacks or skipped. */
  missing: string[];
  /** True when the pass rate fell by more than `maxDrop`: the CI gate fails. */
  failed: boolean;
}

/**
 * Compares a suite's results with an earlier run's, case by case: regressions (passed before, fail
 * now), fixes, and the pass rate over the cases both ran; `failed` when it fell by more than `maxDrop`.
 */
export function compareResults(
  before: EvalResults,
  now: EvalResults,
  options: { maxDrop?: number } = {},
): EvalComparison {
  const maxDrop = options.maxDrop ?? 0.05;
  const earlier = new Map(before.cases.map((c) => [c.id, c]));
  const regressions: CaseChange[] = [];
  const fixed: CaseChange[] = [];
  let shared = 0;
  let passedBefore = 0;
  let passedNow = 0;
  for (const current of now.cases) {
    const previous = earlier.get(current.id);
    if (!previous || previous.status === 'skipped' || current.status === 'skipped') continue;
    shared += 1;
    const was = previous.status === 'passed';
    const is = current.status === 'passed';
    passedBefore += was ? 1 : 0;
    passedNow += is ? 1 : 0;
    const change = { id: current.id, before: previous.status, now: current.status };
    if (was && !is) regressions.push({ ...change, ...(current.reason ? { reason: current.reason } : {}) });
    if (!was && is) fixed.push(change);
  }
  const ranNow = new Set(now.cases.filter((c) => c.status !== 'skipped').map((c) => c.id));
  const missing = before.cases.filter((c) => c.status !== 'skipped' && !ranNow.has(c.id)).map((c) => c.id);
  const passRateBefore = shared ? passedBefore / shared : 0;
  const passRateNow = shared ? passedNow / shared : 0;
  const drop = passRateBefore - passRateNow;
  // A hair of float noise (e.g. 0.05000000000000004) must not fail a gate set at exactly that drop.
  return {
    shared,
    passRateBefore,
    passRateNow,
    drop,
    maxDrop,
    regressions,
    fixed,
    missing,
    failed: drop > maxDrop + 1e-12,
  };
}
