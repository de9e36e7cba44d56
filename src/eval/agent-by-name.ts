import {
  ReActAgent,
  cot,
  lats,
  selfConsistency,
  treeOfThoughts,
  treeOfThoughtsMaxCalls,
  type Agent,
  type TreeOfThoughtsOptions,
} from '../../agents/index.js';
import type { Tool } from '../../tools/index.js';

/** The agents `cadre eval --agent` knows by name, besides the ones an app registers. */
export const strategyNames = ['react', 'cot', 'sc', 'tot', 'lats'] as const;

/** One of {@link strategyNames}. */
export type StrategyAgentName = (typeof strategyNames)[number];

const scSamples = 5;
const totOptions: TreeOfThoughtsOptions = { breadth: 5 };

const answerLine = 'When you are done, give the final answer alone on the last line as: Answer: <answer>';

/** Whether `name` is one of {@link strategyNames}. */
export const isStrategyName = (name: string): name is StrategyAgentName =>
  (strategyNames as readonly string[]).includes(name);

/**
 * A fresh agent for one case: `react` (a ReActAgent with the case's tools), `cot`, `sc`
 * (self-consistency over 5 samples), `tot` (Tree of Thoughts, breadth 5) or `lats` (with the
 * case's tools; rollouts never run write tools).
 */
export function strategyAgent(name: StrategyAgentName, options: { tools: readonly Tool[] }): Agent {
  switch (name) {
    case 'react':
      return new ReActAgent({
        name: 'react',
        instructions: `Carry out the task, using the tools you have when they help.\n${answerLine}`,
        tools: options.tools,
      });
    case 'cot':
      return cot();
    case 'sc':
      return selfConsistency({ samples: scSamples });
    case 'tot':
      return treeOfThoughts(totOptions);
    case 'lats':
      return lats({ tools: options.tools });
  }
}

/**
 * The most model calls one case of a strategy can make: 1 for `cot`, its samples for `sc`, the
 * search's bound for `tot` (144 at breadth 5); undefined for `react` and `lats`, which have no fixed bound.
 */
export function strategyMaxCalls(name: StrategyAgentName): number | undefined {
  if (name === 'cot') return 1;
  if (name === 'sc') return scSamples;
  if (name === 'tot') return treeOfThoughtsMaxCalls(totOptions);
  return undefined;
}
