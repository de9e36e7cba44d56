import { CadreError } from '../core/index.js';
import { ScriptedChatModel } from '../testing/scripted-chat-model.js';
import { hashSeed, mulberry32 } from '../testing/seeded-random.js';
import { finalAnswer, numberIn } from './final-answer.js';
import { judgeInstructions } from './llm-judge.js';
import type { EvalCase } from './suite-schema.js';

/** The cases the oracle knows the answers to, how often it gives them, and its seed. */
export interface OracleModelOptions {
  cases: ReadonlyArray<Pick<EvalCase, 'input' | 'expected'>>;
  /** Chance, in [0, 1], that an answer is the case's `expected` value. */
  accuracy: number;
  /** Seeds every draw; the same seed and prompts give the same replies. Default 1. */
  seed?: number;
  modelName?: string;
}

const judgeLine = judgeInstructions.split('\n')[0]!;
const matches = (answer: string, expected: string | number) =>
  typeof expected === 'number'
    ? numberIn(answer) === expected
    : answer.replace(/\s+/g, ' ').trim().toLowerCase() === expected.replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * A simulated model for testing an evaluation harness, not a language model: asked a suite's
 * question, it answers `Answer: <expected>` with probability `accuracy` and a wrong answer
 * otherwise (one of four, so that majority votes behave as they would); asked to judge, it passes
 * an answer that equals the reference. Each draw is seeded by the seed, the prompt and how often
 * the prompt was asked, so runs repeat exactly. It cannot answer a case without `expected`.
 */
export function oracleModel(options: OracleModelOptions): ScriptedChatModel {
  const { accuracy, seed = 1 } = options;
  if (!(accuracy >= 0 && accuracy <= 1))
    throw new CadreError('input_invalid', `oracleModel: accuracy must be in [0, 1], got ${accuracy}`);
  // Longest first, so a case whose input contains another's is found before it.
  const cases = [...options.cases].sort((a, b) => b.input.length - a.input.length);
  const asked = new Map<string, number>();
  return new ScriptedChatModel({
    modelName: options.modelName ?? 'oracle-sim',
    respond: ({ task, messages }) => {
      const system = String(messages[0]?.content ?? '');
      const known = cases.find((c) => task.includes(c.input));
      if (system.startsWith(judgeLine)) {
        const answer = finalAnswer(task.split('## Answer to grade\n').at(-1) ?? '');
        if (known?.expected === undefined)
          return 'FAIL\nThe simulated judge has no reference answer for this question.';
        return matches(answer, known.expected)
          ? 'PASS\nThe answer equals the reference answer.'
          : 'FAIL\nThe answer differs from the reference answer.';
      }
      if (known?.expected === undefined) return 'I do not know.\nAnswer: unknown';
      const occurrence = asked.get(task) ?? 0;
      asked.set(task, occurrence + 1);
      const random = mulberry32(hashSeed(`${seed}:${occurrence}:${task}`));
      if (random() < accuracy) return `Working it through.\nAnswer: ${known.expected}`;
      const slip = 1 + Math.floor(random() * 4);
      const wrong =
        typeof known.expected === 'number'
          ? known.expected + (slip % 2 ? slip : -slip) * Math.max(1, Math.round(Math.abs(known.expected) / 10))
          : `not sure (${slip})`;
      return `Working it through.\nAnswer: ${wrong}`;
    },
  });
}
