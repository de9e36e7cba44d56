import { z } from 'zod';
import { CadreError } from '../src/core/index.js';
import { sameFields, specFields } from './spec-fields.js';
import type { Tool } from '../tools/index.js';

/** Describes an agent: who it is, what it may use and which model it prefers. */
export interface AgentSpec {
  name: string;
  role?: string;
  instructions: string;
  tools?: readonly Tool[];
  /** Preferred model as `provider:model`; the router decides whether it is available. */
  model?: string;
  /** Most model calls for one task. Default 10. */
  maxSteps?: number;
  /**
   * Most tokens of conversation sent with each model call (estimated at ~3 characters a token).
   * Default: three quarters of the routed model's context window when the router knows it (a pool
   * model's `capabilities.contextWindow`, configured or probed), else no limit. Past it, the oldest
   * tool outputs are replaced by a note saying they were left out; the newest step's are kept whole.
   */
  contextTokens?: number;
  /**
   * `native` (default): the model's own tool calling. `json`: tools described in the prompt and
   * called with JSON in text, for local models without tool support (also used automatically when
   * the model has no tool binding).
   */
  toolProtocol?: 'native' | 'json';
}

const SpecShape = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64'),
  role: z.string().min(1).optional(),
  instructions: z.string().min(1),
  model: z.string().min(3).optional(),
  maxSteps: z.number().int().positive().max(1000).optional(),
  contextTokens: z.number().int().positive().optional(),
  toolProtocol: z.enum(['native', 'json']).optional(),
});

// run() checks its agent spec every time it is called; a spec passed again unchanged is not parsed again.
const checked = new WeakMap<
  AgentSpec,
  { fields: unknown[]; defined: Required<Pick<AgentSpec, 'maxSteps' | 'tools'>> & AgentSpec }
>();

/** Checks a spec and returns it with defaults; throws `input_invalid` naming the bad field. */
export function defineAgentSpec(spec: AgentSpec): Required<Pick<AgentSpec, 'maxSteps' | 'tools'>> & AgentSpec {
  const fields = specFields(spec);
  const known = checked.get(spec);
  if (known && sameFields(known.fields, fields)) return known.defined;
  const defined = check(spec);
  checked.set(spec, { fields, defined });
  return defined;
}

function check(spec: AgentSpec): Required<Pick<AgentSpec, 'maxSteps' | 'tools'>> & AgentSpec {
  const parsed = SpecShape.safeParse(spec);
  if (!parsed.success) {
    const text = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new CadreError('input_invalid', `Invalid agent spec "${spec.name}": ${text}`);
  }
  const tools = spec.tools ?? [];
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name))
      throw new CadreError('input_invalid', `Agent "${spec.name}" lists tool "${tool.name}" twice`);
    names.add(tool.name);
  }
  return { ...spec, tools, maxSteps: spec.maxSteps ?? 10 };
}
