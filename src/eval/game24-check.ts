import { judgeGame24 } from '../testing/game24.js';
import type { CheckOutcome } from './suite-schema.js';

/** The `game24` checker: the answer's first line is an expression that uses each of `numbers` once and makes 24. */
export function checkGame24Answer(answer: string, numbers: readonly number[]): CheckOutcome {
  const verdict = judgeGame24(answer.split('\n')[0] ?? '', numbers);
  return verdict.ok ? { pass: true } : { pass: false, reason: verdict.reason };
}
