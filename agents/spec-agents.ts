import type { AgentSpec } from './agent-spec.js';
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
  const fields = fieldsOf(spec, role, options);
  const cached = built.get(spec);
  if (cached && sameFields(cached.fields, fields)) return cached.agent;
  const agent = new ReActAgent({ ...spec, role }, options);
  built.set(spec, { fields, agent });
  return agent;
}

function fieldsOf(spec: AgentSpec, role: string, options: ReActAgentOptions): unknown[] {
  const fields: unknown[] = [role, options.toolTimeoutMs, options.toolOutputMaxChars];
  for (const key of Object.keys(spec)) fields.push(key, spec[key as keyof AgentSpec]);
  fields.push(...(spec.tools ?? []));
  return fields;
}

function sameFields(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}
