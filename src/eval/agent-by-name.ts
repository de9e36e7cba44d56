import { ReActAgent, cot, lats, selfConsistency, treeOfThoughts, type Agent } from '../../agents/index.js';
import type { Tool } from '../../tools/index.js';

/** The agents `cadre eval --agent` knows by name, besides the ones an app registers. */
export const strategyNames = ['react', 'cot', 'sc', 'tot', 'lats'] as const;

/** One of {@link strategyNames}. */
export type StrategyAgentName = (typeof strategyNames)[number];

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
      return selfConsistency({ samples: 5 });
    case 'tot':
      return treeOfThoughts({ breadth: 5 });
    case 'lats':
      return lats({ tools: options.tools });
  }
}
