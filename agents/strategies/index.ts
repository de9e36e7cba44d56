/** Reasoning strategies as agents: chain-of-thought, self-consistency, Tree of Thoughts and LATS. */
export { cot, cotInstructions, type CotOptions } from './cot.js';
export {
  selfConsistency,
  type SelfConsistencyAgent,
  type SelfConsistencyOptions,
  type SelfConsistencyResult,
} from './self-consistency.js';
export { treeOfThoughts, treeOfThoughtsMaxCalls, type TreeOfThoughtsOptions } from './tree-of-thoughts.js';
export {
  evaluatePrompt,
  parseProposals,
  parseValue,
  proposePrompt,
  thoughtValues,
  type ThoughtState,
} from './thought-prompts.js';
export { lats, type LatsOptions } from './lats.js';
export { isTaskStrategy, taskStrategies, type TaskStrategy } from './task-strategies.js';
export { strategyForRole } from './strategy-for-role.js';
export { normalizeAnswer } from './majority-vote.js';
export { extractAnswer, type StrategyOptions } from './strategy-options.js';
export type { StrategyEventPayload, StrategyName } from './strategy-events.js';
