import type { Tool } from '../../tools/define-tool.js';
import type { Agent } from '../agent.js';
import { cot } from './cot.js';
import { lats } from './lats.js';
import { selfConsistency } from './self-consistency.js';
import type { TaskStrategy } from './task-strategies.js';
import { treeOfThoughts } from './tree-of-thoughts.js';

/**
 * The agent that carries out a role's task with a strategy: `cot`, `self-consistency` (5 samples),
 * `tree-of-thoughts` (breadth 5) or `lats` over the role's tools (rollouts run no write tools).
 * Its prompts are the strategy's own; the role gives its name and, for LATS, its tools.
 */
export function strategyForRole(
  strategy: Exclude<TaskStrategy, 'react'>,
  role: { name: string; tools: readonly Tool[] },
): Agent {
  switch (strategy) {
    case 'cot':
      return cot({ role: role.name });
    case 'self-consistency':
      return selfConsistency({ role: role.name, samples: 5 });
    case 'tree-of-thoughts':
      return treeOfThoughts({ role: role.name, breadth: 5 });
    case 'lats':
      return lats({ role: role.name, tools: role.tools });
  }
}
