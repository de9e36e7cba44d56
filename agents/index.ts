export * from './agent.js';
export * from './agent-spec.js';
export * from './react-agent.js';
export * from './roles.js';
export * from './delegate-tool.js';
export * from './evaluators.js';
export * from './reflexion-agent.js';
export * from './reflection.js';
