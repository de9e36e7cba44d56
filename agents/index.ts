export * from './agent.js';
export * from './agent-spec.js';
export * from './react-agent.js';
