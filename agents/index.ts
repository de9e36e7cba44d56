/**
 * Agents that carry out one task each: ReAct and Reflexion loops, reasoning strategies (chain-of-thought,
 * self-consistency, Tree of Thoughts, LATS), roles, evaluators, delegation.
 *
 * @module cadre/agents
 */
export * from './agent.js';
export * from './agent-spec.js';
export * from './react-agent.js';
export * from './roles.js';
export { createDelegateTool, type DelegateToolOptions } from './delegate-tool.js';
export * from './evaluators.js';
export * from './reflexion-agent.js';
export * from './reflection.js';
export * from './memory-tools.js';
export { jsonToolInstructions, withJsonToolProtocol } from './json-tool-protocol.js';
export * from './route-request.js';
export * from './strategies/index.js';
