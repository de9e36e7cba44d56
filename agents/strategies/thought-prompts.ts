import type { AgentTask } from '../agent.js';
import { taskText } from './strategy-run.js';

/** A partial solution in a tree of thoughts: the task and the thoughts taken so far, root first. */
export interface ThoughtState {
  task: AgentTask;
  thoughts: readonly string[];
}

/** The values of the Tree of Thoughts paper's verdicts; a node's value is the mean over its evaluations. */
export const thoughtValues = { sure: 20, likely: 1, impossible: 0.001 } as const;

const stepsSoFar = (state: ThoughtState) =>
  `${taskText(state.task)}\n\nSteps so far:\n${state.thoughts.join('\n') || '(none)'}\n\n`;

/** The default proposal prompt: the task, the steps so far, and a request for up to `count` next steps. */
export const proposePrompt = (state: ThoughtState, count: number): string =>
  `${stepsSoFar(state)}Propose up to ${count} possible next steps, one per line, each building on the steps so far. ` +
  'If the steps so far already solve the task, write only the final answer, as a line "Answer: <answer>".';

/** The default evaluation prompt: asks for a verdict of sure, likely or impossible. */
export const evaluatePrompt = (state: ThoughtState): string =>
  `${stepsSoFar(state)}Evaluate whether these steps can still lead to a correct answer (or, when the last step ` +
  'is an answer, whether it is correct). Think briefly, then give your verdict on the last line as one word: ' +
  'sure, likely or impossible.';

/** The proposals of a reply: one per line, list markers dropped, empty lines skipped. */
export const parseProposals = (reply: string): string[] =>
  reply
    .split('\n')
    .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '').trim())
    .filter(Boolean);

/**
 * A value from an evaluation reply: the last `sure`, `likely` or `impossible` of its last line (as
 * {@link thoughtValues}), else the last number on it; undefined when there is neither.
 */
export function parseValue(reply: string): number | undefined {
  const last = reply.trim().split('\n').at(-1)?.toLowerCase() ?? '';
  const word = [...last.matchAll(/\b(sure|likely|impossible)\b/g)].at(-1)?.[1] as
    keyof typeof thoughtValues | undefined;
  if (word) return thoughtValues[word];
  const number = [...last.matchAll(/-?\d+(?:\.\d+)?/g)].at(-1)?.[0];
  return number === undefined ? undefined : Number(number);
}
