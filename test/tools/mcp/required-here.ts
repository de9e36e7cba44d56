// What a test needs from the machine it runs on (bubblewrap, chromium); not a test file itself.
import type { TestContext } from 'vitest';

/** `.ci/run` exports CI=true: there every prerequisite must be present, and a test never skips for want of one. */
export const inCi = process.env.CI === 'true';

/**
 * Skips the test saying what is `missing`, or, under CI=true, fails it with that: CI must not pass
 * without having run it. Does nothing when nothing is missing.
 */
export function requireHere(context: TestContext, missing: string | undefined): void {
  if (!missing) return;
  if (inCi) {
    throw new Error(`${missing}. CI=true, so this test fails instead of skipping: install it (see .ci/run).`);
  }
  context.skip(missing);
}
