import assert from 'node:assert/strict';
import { CadreError } from '../core/index.js';
/**
 * The two test functions a conformance suite needs. Passed in (or taken from globals) rather than
 * imported from vitest: vitest is a dev dependency, and the CLI loads this package at run time.
 */
export interface ConformanceTestApi {
  /** Groups the suite's tests, like vitest's `describe`. */
  describe(name: string, body: () => void): unknown;
  /** One test, like vitest's `it`. */
  it(name: string, body: () => Promise<void>): unknown;
}

/** What a conformance suite runs against: an implementation made afresh for each test. */
export interface ConformanceOptions<T> {
  /** Shown in the suite's title, e.g. 'SQLite run store'. */
  name: string;
  /** The implementation for one test. It may hold other tests' data: each test works on ids of its own. */
  create: () => Promise<T> | T;
  /** Called after each test with what `create` gave. */
  destroy?: (made: T) => Promise<void> | void;
  /** Default: the runner's global `describe` and `it`. */
  testApi?: ConformanceTestApi;
}

/** The runner's global `describe` and `it`, for a suite (named in errors) that was given none. */
export function globalTestApi(suite: string): ConformanceTestApi {
  const g = globalThis as Partial<ConformanceTestApi>;
  if (!g.describe || !g.it) throw new Error(`${suite}: pass { describe, it } or enable test globals`);
  return { describe: g.describe, it: g.it };
}

/** A suite's `it`, each test given a fresh implementation from `create` and handing it to `destroy` after. */
export function freshEachTest<T>(
  options: ConformanceOptions<T>,
  it: ConformanceTestApi['it'],
): (title: string, body: (made: T) => Promise<void>) => unknown {
  return (title, body) =>
    it(title, async () => {
      const made = await options.create();
      try {
        await body(made);
      } finally {
        await options.destroy?.(made);
      }
    });
}

/** An `assert.rejects` check that the error is a CadreError with `code`. */
export const hasCode = (code: string) => (error: unknown) => {
  assert.ok(CadreError.isInstance(error), `expected a CadreError, got ${String(error)}`);
  assert.equal(error.code, code);
  return true;
};

/** Waits until the clock has moved on by at least `ms`, so what is written either side differs in time. */
export async function pause(ms = 3): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Checks that the time `at` lies in [before, after]. */
export function assertWithin(at: number, before: number, after: number, what: string): void {
  assert.equal(typeof at, 'number', `${what} is a number`);
  assert.ok(at >= before && at <= after, `${what} ${at} outside [${before}, ${after}]`);
}
