import { CadreError } from '../core/index.js';
import { formatExpression, type Expression } from './game24-expression.js';
import { judgeGame24, solve24, solvable } from './game24.js';
import {
  arithmetic,
  equals,
  formatRational,
  parseRational,
  rational,
  type Operator,
  type Rational,
} from './rational.js';
import { ScriptedChatModel, type ScriptContext } from './scripted-chat-model.js';
import { hashSeed, mulberry32 } from './seeded-random.js';

/** How good the simulated Game of 24 model is, and how it is seeded. */
export interface Game24ModelOptions {
  /** Chance, in [0, 1], that an answer given in one go (chain-of-thought) is right. */
  accuracy: number;
  /**
   * Chance that a list of proposed next steps holds one from which 24 can still be reached.
   * Default: `accuracy`. A model good at single steps but poor in one go (as the Tree of Thoughts
   * paper found GPT-4 to be) has this high and `accuracy` low. Also the chance that, with the
   * numbers used up short of 24, it says so instead of claiming 24 with a wrong answer.
   */
  proposeAccuracy?: number;
  /** Chance that a value judgement (sure / likely / impossible) is right. Default: `accuracy`. */
  valueAccuracy?: number;
  /** Seeds every draw; the same seed and prompts give the same replies. Default 1. */
  seed?: number;
  /** Steps proposed when the prompt does not say how many. Default 5. */
  proposals?: number;
  /** Simulated latency per call in ms. Default 0. */
  latencyMs?: number | [number, number];
  /** Reported model name. Default `game24-sim`. */
  modelName?: string;
}

/** The task text for a puzzle, in the words of the Tree of Thoughts paper's prompts. */
export const game24Task = (numbers: readonly number[]): string =>
  `Use numbers and basic arithmetic operations (+ - * /) to obtain 24. Use each number exactly once.\nInput: ${numbers.join(' ')}`;

type Item = { value: Rational; expression: Expression };

/**
 * A scripted chat model that plays a fallible Game of 24 solver of known quality. It reads the
 * prompts of the `cot`, `selfConsistency` and `treeOfThoughts` strategies: asked to propose next
 * steps ("Propose up to 5 ...") it lists steps such as `4 + 9 = 13 (left: 10 13 13)`, one of them
 * on a path to 24 with probability `proposeAccuracy`; once the steps leave one number, it writes
 * the answer they built when that number is 24, and otherwise says the path ends short of 24 (with
 * probability `proposeAccuracy`) or claims 24 with a wrong answer. Asked to evaluate, it answers
 * sure / likely / impossible from an exact solver, right with probability `valueAccuracy`;
 * otherwise it answers `Answer: <expression> = 24` in one go, right with probability `accuracy`.
 * Each draw is seeded by the seed, the prompt and how often that prompt was asked, so runs repeat
 * exactly. It is a simulation of a model of known quality, not a language model.
 */
export function game24Model(options: Game24ModelOptions): ScriptedChatModel {
  const { accuracy, seed = 1, proposals = 5 } = options;
  const valueAccuracy = options.valueAccuracy ?? accuracy;
  const proposeAccuracy = options.proposeAccuracy ?? accuracy;
  for (const [name, p] of Object.entries({ accuracy, proposeAccuracy, valueAccuracy }))
    if (!(p >= 0 && p <= 1)) throw new CadreError('input_invalid', `game24Model: ${name} must be in [0, 1], got ${p}`);
  const asked = new Map<string, number>();
  return new ScriptedChatModel({
    modelName: options.modelName ?? 'game24-sim',
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    respond: ({ task }: ScriptContext) => {
      const occurrence = asked.get(task) ?? 0;
      asked.set(task, occurrence + 1);
      const random = mulberry32(hashSeed(`${seed}:${occurrence}:${task}`));
      const numbers = puzzleOf(task);
      if (!numbers) return 'I cannot find four numbers in this task.\nAnswer: none';
      const state = stateOf(numbers, stepsOf(task));
      const propose = /Propose up to (\d+)/i.exec(task);
      if (propose) return proposeSteps(state, Number(propose[1]) || proposals, proposeAccuracy, random);
      if (/Evaluate whether/i.test(task)) return judge(state, numbers, valueAccuracy, random);
      return answer(numbers, accuracy, random);
    },
  });
}

const four = /\b(\d{1,2})[ ,]+(\d{1,2})[ ,]+(\d{1,2})[ ,]+(\d{1,2})\b/;

/** The puzzle: the four numbers after `Input:` (as {@link game24Task} writes them), else the first four in a row. */
const puzzleOf = (text: string): number[] | undefined => {
  const match = new RegExp(`Input:\\s*${four.source}`).exec(text) ?? four.exec(text);
  return match ? match.slice(1, 5).map(Number) : undefined;
};

/** The lines under "Steps so far:", up to the first blank line. */
const stepsOf = (text: string): string[] => {
  const at = text.indexOf('Steps so far:');
  if (at < 0) return [];
  const lines = text.slice(at).split('\n').slice(1);
  const end = lines.findIndex((l) => !l.trim());
  return (end < 0 ? lines : lines.slice(0, end)).map((l) => l.trim()).filter((l) => l && l !== '(none)');
};

type State = { items: Item[]; answer?: string } | { broken: true };

/** Replays steps such as `4 + 9 = 13 (left: 10 13 13)` on the puzzle's numbers. */
function stateOf(numbers: number[], steps: string[]): State {
  const items: Item[] = numbers.map((n) => ({ value: rational(n), expression: n }));
  for (const step of steps) {
    if (/^answer\s*:/i.test(step)) return { items, answer: step };
    const [a, op, b] = step.split(/\s+/);
    const left = parseRational(a ?? '');
    const right = parseRational(b ?? '');
    if (!left || !right || !op || !(op in arithmetic)) return { broken: true };
    const i = items.findIndex((item) => equals(item.value, left));
    const first = items.splice(i, i < 0 ? 0 : 1)[0];
    const j = items.findIndex((item) => equals(item.value, right));
    const second = items.splice(j, j < 0 ? 0 : 1)[0];
    if (!first || !second) return { broken: true };
    try {
      const value = arithmetic[op as Operator](first.value, second.value);
      items.push({ value, expression: { op: op as Operator, left: first.expression, right: second.expression } });
    } catch {
      return { broken: true };
    }
  }
  return { items };
}

type Step = { text: string; good: boolean };

/** Every next step with a non-negative result, larger number first, and whether 24 is still reachable after it. */
function nextSteps(items: Item[]): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const rest = items.filter((_, k) => k !== i && k !== j).map((item) => item.value);
      const [x, y] = items[i]!.value.n * items[j]!.value.d >= items[j]!.value.n * items[i]!.value.d ? [i, j] : [j, i];
      const a = items[x]!.value;
      const b = items[y]!.value;
      const tries: Array<[Rational, Operator, Rational]> = [
        [a, '+', b],
        [a, '-', b],
        [a, '*', b],
        [a, '/', b],
        [b, '/', a],
      ];
      for (const [p, op, q] of tries) {
        if (op === '/' && q.n === 0) continue;
        const value = arithmetic[op](p, q);
        const left = [...rest, value].sort((m, n) => m.n * n.d - n.n * m.d).map(formatRational);
        steps.push({
          text: `${formatRational(p)} ${op} ${formatRational(q)} = ${formatRational(value)} (left: ${left.join(' ')})`,
          good: solvable([...rest, value]),
        });
      }
    }
  }
  return steps;
}

function proposeSteps(state: State, count: number, accuracy: number, random: () => number): string {
  if ('broken' in state) return 'These steps do not follow from the numbers.';
  const last = state.items[0];
  if (state.items.length === 1 && last) {
    // The numbers are used up. At 24 the steps built an answer. Short of it, the model says so as
    // often as it proposes well; otherwise it claims 24 anyway, a wrong answer the value step can judge.
    const built = `Answer: ${formatExpression(last.expression)} = 24`;
    if (equals(last.value, rational(24)) || random() >= accuracy) return built;
    return `(no step left: these steps end at ${formatRational(last.value)}, not 24)`;
  }
  const steps = nextSteps(state.items);
  const good = shuffle(
    steps.filter((s) => s.good),
    random,
  );
  const bad = shuffle(
    steps.filter((s) => !s.good),
    random,
  );
  const picked =
    good.length && random() < accuracy
      ? [good[0]!, ...bad.slice(0, count - 1)]
      : bad.length
        ? bad.slice(0, count)
        : good.slice(0, count);
  return shuffle(picked, random)
    .map((s) => s.text)
    .join('\n');
}

function judge(state: State, numbers: number[], valueAccuracy: number, random: () => number): string {
  let reachable: boolean;
  if ('broken' in state) reachable = false;
  else if (state.answer) reachable = judgeGame24(state.answer, numbers).ok;
  else reachable = solvable(state.items.map((item) => item.value));
  const right = reachable ? 'sure' : 'impossible';
  const wrong = random() < 0.5 ? 'likely' : reachable ? 'impossible' : 'sure';
  const verdict = random() < valueAccuracy ? right : wrong;
  return `Checking whether 24 can still be reached from here.\n${verdict}`;
}

function answer(numbers: number[], accuracy: number, random: () => number): string {
  const solution = solve24(numbers);
  if (solution && random() < accuracy) return `Let me combine the numbers step by step.\nAnswer: ${solution} = 24`;
  return `Let me combine the numbers step by step.\nAnswer: ${wrongExpression(numbers, random)} = 24`;
}

/** A random expression over the numbers that does not make 24, as a mistaken model writes it. */
function wrongExpression(numbers: number[], random: () => number): string {
  const ops: Operator[] = ['+', '-', '*', '/'];
  for (let attempt = 0; attempt < 50; attempt++) {
    const items: Expression[] = shuffle(numbers, random);
    while (items.length > 1) {
      const at = Math.floor(random() * (items.length - 1));
      const op = ops[Math.floor(random() * ops.length)]!;
      items.splice(at, 2, { op, left: items[at]!, right: items[at + 1]! });
    }
    const text = formatExpression(items[0]!);
    if (!judgeGame24(text, numbers).ok) return text;
  }
  return numbers.join(' + ');
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
