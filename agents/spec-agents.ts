import type { AgentSpec } from './agent-spec.js';
import { sameFields, specFields } from './spec-fields.js';
import { ReActAgent, type ReActAgentOptions } from './react-agent.js';

interface Built {
  /** The spec's fields (and tools) as they were when the agent was built. */
  fields: unknown[];
  agent: ReActAgent;
}

// A program that runs the same spec many times gets the agent built once: its tool schemas and
// bindings are made once, not per run. A spec changed in place since is built again.
const built = new WeakMap<AgentSpec, Built>();

/** The ReActAgent for `spec`, reused while the spec, its tools and the limits stay the same. */
export function agentForSpec(spec: AgentSpec, role: string, options: ReActAgentOptions): ReActAgent {
  const fields = specFields(spec, role, options.toolTimeoutMs, options.toolOutputMaxChars);
  const cached = built.get(spec);
  if (cached && sameFields(cached.fields, fields)) return cached.agent;
  const agent = new ReActAgent({ ...spec, role }, options);
  built.set(spec, { fields, agent });
  return agent;
}
