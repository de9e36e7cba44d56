import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { CadreError } from '../core/index.js';
import { invokeModel } from '../models/invoke-model.js';
import type { ModelRouter } from '../models/router.js';
import type { CheckOutcome, EvalCase } from './suite-schema.js';

/** What the judge is asked about: the case, its answer and the rubric, and where its call goes. */
export interface JudgeRequest {
  answer: string;
  evalCase: EvalCase;
  rubric: string;
  /** The judge model the router should prefer, as `provider:model`. */
  model?: string | undefined;
  router?: ModelRouter | undefined;
  signal?: AbortSignal | undefined;
}

/** The judge's instructions; an offline model recognises a judge call by their first line. */
export const judgeInstructions = [
  'You grade one answer against a rubric.',
  'Reply with PASS or FAIL alone on the first line, then one sentence saying why.',
].join('\n');

const textOf = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

/**
 * The `llm-judge` checker: asks a model, routed for task kind `judge`, whether the answer meets the
 * rubric. Passes only on a reply whose first word is PASS; the rest of the reply is the reason.
 */
export async function judgeAnswer(request: JudgeRequest): Promise<CheckOutcome> {
  if (!request.router)
    throw new CadreError('input_invalid', `Case "${request.evalCase.id}" has an llm-judge check and no model to judge`);
  const expected =
    request.evalCase.expected === undefined ? '' : `\n\n## Reference answer\n${request.evalCase.expected}`;
  const prompt = `## Rubric\n${request.rubric}\n\n## Question\n${request.evalCase.input}${expected}\n\n## Answer to grade\n${request.answer}`;
  const decision = await request.router.select({
    taskKind: 'judge',
    text: prompt,
    ...(request.model ? { preferred: request.model } : {}),
  });
  const reply = await invokeModel(decision.model, [new SystemMessage(judgeInstructions), new HumanMessage(prompt)], {
    ref: decision.ref,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const text = textOf(reply.content).trim();
  const verdict = /^\W*(PASS|FAIL)\b\W*/i.exec(text);
  if (!verdict) return { pass: false, reason: `the judge gave no verdict: ${text.slice(0, 200)}` };
  const reason = text.slice(verdict[0].length).trim();
  return { pass: verdict[1]!.toUpperCase() === 'PASS', ...(reason ? { reason: `judge: ${reason}` } : {}) };
}
