import { z } from 'zod';
import type { ModelRouter } from '../models/router.js';
import { finalAnswer, numberIn } from './final-answer.js';
import { checkGame24Answer } from './game24-check.js';
import { judgeAnswer } from './llm-judge.js';
import type { CheckOutcome, CheckerSpec, EvalCase } from './suite-schema.js';

/** What a checker may need besides the answer: the router for an LLM judge. */
export interface CheckContext {
  /** Routes the `llm-judge` checker's call (task kind `judge`). */
  router?: ModelRouter;
  signal?: AbortSignal;
}

/** The checker a case uses: its `check`, else `numeric` for a number `expected`, else `exact`. */
export function checkerOf(evalCase: EvalCase): CheckerSpec {
  if (evalCase.check) return evalCase.check;
  return typeof evalCase.expected === 'number' ? { type: 'numeric' } : { type: 'exact' };
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();
const withoutFences = (text: string) => text.replace(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i, '$1').trim();

/** Checks an agent's reply against its case; the checkers see the reply's final answer (see {@link finalAnswer}). */
export async function checkAnswer(
  reply: string,
  evalCase: EvalCase,
  context: CheckContext = {},
): Promise<CheckOutcome> {
  const answer = finalAnswer(reply);
  const check = checkerOf(evalCase);
  switch (check.type) {
    case 'exact': {
      const want = check.value ?? String(evalCase.expected);
      const same = check.normalize ? squash(answer) === squash(want) : answer === want.trim();
      return same ? { pass: true } : { pass: false, reason: `expected "${want}"` };
    }
    case 'numeric': {
      const want = check.value ?? Number(evalCase.expected);
      const got = numberIn(answer);
      if (got === undefined) return { pass: false, reason: 'the answer states no number' };
      const tolerance = (check.tolerance ?? 1e-6) * (check.mode === 'relative' ? Math.abs(want) : 1);
      return Math.abs(got - want) <= tolerance
        ? { pass: true }
        : { pass: false, reason: `expected ${want}, got ${got}` };
    }
    case 'regex':
      return new RegExp(check.pattern, check.flags).test(answer)
        ? { pass: true }
        : { pass: false, reason: `does not match /${check.pattern}/${check.flags ?? ''}` };
    case 'json-schema': {
      let value: unknown;
      try {
        value = JSON.parse(withoutFences(answer));
      } catch {
        return { pass: false, reason: 'the answer is not JSON' };
      }
      const parsed = z.fromJSONSchema(check.schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value);
      if (parsed.success) return { pass: true };
      return {
        pass: false,
        reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`).join('; '),
      };
    }
    case 'function': {
      const outcome = await check.check(answer, evalCase);
      return typeof outcome === 'boolean' ? { pass: outcome } : outcome;
    }
    case 'llm-judge':
      return judgeAnswer({ answer, evalCase, rubric: check.rubric, model: check.model, ...context });
    case 'game24':
      return checkGame24Answer(answer, check.numbers);
  }
}
