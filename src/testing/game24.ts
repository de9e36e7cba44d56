import {
  canonicalForm,
  evaluate,
  formatExpression,
  literals,
  parseExpression,
  type Expression,
} from './game24-expression.js';
import { arithmetic, equals, isInteger, rational, type Operator, type Rational } from './rational.js';

/** One distinct solution of a Game of 24 puzzle. */
export interface Game24Solution {
  /** E.g. `(13 - 9) * (10 - 4)`. */
  expression: string;
  /** Whether every way to compute it passes through a fraction (such as `8 / 3`), which people find hard. */
  needsFractions: boolean;
}

type Item = { value: Rational; expression: Expression; fractions: boolean; negatives: boolean };

const operators: ReadonlyArray<[Operator, boolean]> = [
  ['+', false],
  ['*', false],
  ['-', false],
  ['-', true],
  ['/', false],
  ['/', true],
];

/**
 * Every way to combine the items two at a time down to one, exactly over rationals; `visit`
 * returns true to stop the search.
 */
function search(items: Item[], target: Rational, visit: (item: Item) => boolean): boolean {
  if (items.length === 1) return equals(items[0]!.value, target) && visit(items[0]!);
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const rest = items.filter((_, k) => k !== i && k !== j);
      for (const [op, swap] of operators) {
        const [a, b] = swap ? [items[j]!, items[i]!] : [items[i]!, items[j]!];
        if (op === '/' && b.value.n === 0) continue;
        const value = arithmetic[op](a.value, b.value);
        const expression = { op, left: a.expression, right: b.expression };
        const fractions = a.fractions || b.fractions || !isInteger(value);
        const negatives = a.negatives || b.negatives || value.n < 0;
        if (search([...rest, { value, expression, fractions, negatives }], target, visit)) return true;
      }
    }
  }
  return false;
}

const itemsOf = (numbers: readonly number[]): Item[] =>
  numbers.map((n) => ({ value: rational(n), expression: n, fractions: false, negatives: n < 0 }));

/** A solution of the puzzle (each number once, `+ - * /`, exact arithmetic), or undefined when it has none. */
export function solve24(numbers: readonly number[], target = 24): string | undefined {
  let found: Expression | undefined;
  const take = (plainOnly: boolean) => (item: Item) => {
    if (plainOnly && (item.fractions || item.negatives)) return false;
    found = item.expression;
    return true;
  };
  // The plainest first (whole, non-negative steps), as a person would write it; then any.
  if (!search(itemsOf(numbers), rational(target), take(true))) search(itemsOf(numbers), rational(target), take(false));
  return found === undefined ? undefined : formatExpression(found);
}

/** Whether exact values (fractions allowed, as after some steps of a puzzle) can still make `target`. */
export function solvable(values: readonly Rational[], target = 24): boolean {
  const items = values.map((value) => ({ value, expression: 0, fractions: false, negatives: false }));
  return search(items, rational(target), () => true);
}

/**
 * The puzzle's distinct solutions: expressions that differ only in the order of a sum's or a
 * product's terms, or in parentheses inside one, count once (`4 * 6` and `6 * 4` are one solution).
 */
export function game24Solutions(numbers: readonly number[], target = 24): Game24Solution[] {
  const byForm = new Map<string, { item: Item; needsFractions: boolean }>();
  // Shown as the plainest way to compute it: whole numbers over fractions, then no negative steps.
  const plainness = (item: Item) => (item.fractions ? 2 : 0) + (item.negatives ? 1 : 0);
  search(itemsOf(numbers), rational(target), (item) => {
    const form = canonicalForm(item.expression);
    const seen = byForm.get(form);
    if (!seen) byForm.set(form, { item, needsFractions: item.fractions });
    else {
      if (plainness(item) < plainness(seen.item)) seen.item = item;
      seen.needsFractions &&= item.fractions;
    }
    return false;
  });
  return [...byForm.values()].map(({ item, needsFractions }) => ({
    expression: formatExpression(item.expression),
    needsFractions,
  }));
}

/** Why an answer to a Game of 24 puzzle is wrong, or that it is right. */
export type Game24Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Judges an answer: uses every number exactly once, only `+ - * /` and parentheses, and equals
 * `target` exactly. Accepts a leading `Answer:` and a trailing `= 24`. Parsed, never `eval`ed.
 */
export function judgeGame24(answer: string, numbers: readonly number[], target = 24): Game24Verdict {
  let text = answer.trim().replace(/^answer\s*:\s*/i, '');
  if (text.length > 200) return { ok: false, reason: 'answer longer than 200 characters' };
  const claimed = /=\s*([^=]*)$/.exec(text);
  if (claimed) {
    if (claimed[1]!.trim() !== String(target)) return { ok: false, reason: `claims ${claimed[1]!.trim()}` };
    text = text.slice(0, claimed.index);
  }
  let expression: Expression;
  try {
    expression = parseExpression(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const unused = [...numbers];
  for (const n of literals(expression)) {
    const at = unused.indexOf(n);
    if (at < 0) return { ok: false, reason: `uses ${n} more often than the puzzle gives it` };
    unused.splice(at, 1);
  }
  if (unused.length) return { ok: false, reason: `does not use ${unused.join(', ')}` };
  try {
    const value = evaluate(expression);
    return equals(value, rational(target)) ? { ok: true } : { ok: false, reason: `equals ${value.n}/${value.d}` };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** Whether `answer` solves the puzzle (see {@link judgeGame24}). */
export function checkGame24(answer: string, numbers: readonly number[], target = 24): boolean {
  return judgeGame24(answer, numbers, target).ok;
}
