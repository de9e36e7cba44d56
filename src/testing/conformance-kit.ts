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
