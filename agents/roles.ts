import { CadreError } from '../src/core/index.js';
import type { Tool } from '../tools/index.js';
import type { Agent } from './agent.js';
import type { AgentSpec } from './agent-spec.js';
import { ReActAgent, type ReActAgentOptions } from './react-agent.js';
import { agentForSpec } from './spec-agents.js';
import { strategyForRole } from './strategies/strategy-for-role.js';
import { isTaskStrategy, taskStrategies } from './strategies/task-strategies.js';
import { checkRoleNames, isAgent } from './team-checks.js';

/** A role a planner can assign: a name, what it is good at, and the agent that plays it. */
export interface RoleDefinition {
  name: string;
  description: string;
  /** An Agent (e.g. a ReflexionAgent), or a spec for a ReActAgent. */
  agent: Agent | AgentSpec;
  /** What kind of work the role does, for model routing (reason, code, summarise, ...); default `agent`. */
  taskKind?: string;
}

/** Options for every ReActAgent built from a role's spec, and tools every such role gets. */
export interface RoleRegistryOptions extends ReActAgentOptions {
  /** Added to every spec-defined role's tools, e.g. the run's `delegate` tool. */
  extraTools?: readonly Tool[];
}

export { isAgent } from './team-checks.js';

/** The roles of one run, each turned into its agent once, on first use. */
export class RoleRegistry {
  private readonly definitions = new Map<string, RoleDefinition>();
  private readonly agents = new Map<string, Agent>();

  constructor(
    roles: readonly RoleDefinition[],
    private readonly options: RoleRegistryOptions = {},
  ) {
    checkRoleNames(roles);
    for (const role of roles) this.definitions.set(role.name, role);
  }

  /**
   * The agent for a role: its own, or with a `strategy` (as a task of a plan names it) that
   * strategy's agent for the role. Throws `input_invalid` for an unknown role or strategy.
   */
  get(name: string, strategy?: string): Agent {
    if (strategy !== undefined && !isTaskStrategy(strategy))
      throw new CadreError(
        'input_invalid',
        `Unknown strategy "${strategy}"; known strategies: ${taskStrategies.join(', ')}`,
      );
    // `react` is the role's own agent: the same one a task that names no strategy gets.
    const chosen = strategy === 'react' ? undefined : strategy;
    const key = chosen === undefined ? name : `${name}:${chosen}`;
    const cached = this.agents.get(key);
    if (cached) return cached;
    const definition = this.definitions.get(name);
    if (!definition)
      throw new CadreError('input_invalid', `Unknown role "${name}"; known roles: ${this.names().join(', ')}`);
    const own = isAgent(definition.agent) ? [] : (definition.agent.tools ?? []);
    const extra = (this.options.extraTools ?? []).filter((t) => !own.some((tool) => tool.name === t.name));
    const options = { toolTimeoutMs: this.options.toolTimeoutMs, toolOutputMaxChars: this.options.toolOutputMaxChars };
    const agent =
      chosen !== undefined
        ? strategyForRole(chosen, { name, tools: [...own, ...extra] })
        : isAgent(definition.agent)
          ? definition.agent
          : extra.length === 0
            ? agentForSpec(definition.agent, name, options)
            : new ReActAgent({ ...definition.agent, role: name, tools: [...own, ...extra] }, options);
    this.agents.set(key, agent);
    return agent;
  }

  /** The routing task kind of a role's work, when the role declares one. */
  taskKindOf(name: string): string | undefined {
    return this.definitions.get(name)?.taskKind;
  }

  /** The role names, in the order they were given. */
  names(): string[] {
    return [...this.definitions.keys()];
  }

  /** Names, descriptions and task kinds, for planning prompts and a planner's per-kind strategies. */
  describe(): Array<{ name: string; description: string; kind?: string }> {
    return [...this.definitions.values()].map(({ name, description, taskKind }) => ({
      name,
      description,
      ...(taskKind ? { kind: taskKind } : {}),
    }));
  }

  /** Every tool any spec-defined role can use, once each, for planning prompts and validation. */
  tools(): Tool[] {
    const byName = new Map<string, Tool>();
    for (const { agent } of this.definitions.values()) {
      if (!isAgent(agent)) for (const tool of agent.tools ?? []) byName.set(tool.name, tool);
    }
    for (const tool of this.options.extraTools ?? []) byName.set(tool.name, tool);
    return [...byName.values()];
  }
}

/**
 * Four general roles over the given tools: researcher (finds and reads), coder (computes and writes
 * files), critic (checks others' results) and writer (combines results into the answer).
 */
export function builtinRoles(options: { tools: readonly Tool[]; model?: string; maxSteps?: number }): RoleDefinition[] {
  const pick = (...names: string[]) => options.tools.filter((t) => names.includes(t.name));
  const spec = (name: string, instructions: string, tools: Tool[]): AgentSpec => ({
    name,
    role: name,
    instructions,
    tools,
    maxSteps: options.maxSteps ?? 10,
    ...(options.model ? { model: options.model } : {}),
  });
  return [
    {
      name: 'researcher',
      taskKind: 'reason',
      description: 'finds facts: reads files and folders, fetches allowed web pages, checks the time',
      agent: spec(
        'researcher',
        'You are a researcher. Gather the facts the task asks for with your tools and report them plainly, with where each came from.',
        pick('read_file', 'list_dir', 'http_fetch', 'current_time'),
      ),
    },
    {
      name: 'coder',
      taskKind: 'code',
      description: 'computes exactly and writes files: arithmetic, code, data',
      agent: spec(
        'coder',
        'You are a careful engineer. Compute with the calculator rather than in your head, and write files only when the task asks for them.',
        pick('calculator', 'read_file', 'list_dir', 'write_file'),
      ),
    },
    {
      name: 'critic',
      taskKind: 'reason',
      description: 'checks the results of other tasks for mistakes and gaps',
      agent: spec(
        'critic',
        'You are a critic. Check the results you are given against the task; say what is wrong or missing, or that they hold.',
        pick('calculator', 'read_file'),
      ),
    },
    {
      name: 'writer',
      taskKind: 'summarise',
      description: 'combines the results of other tasks into a clear final answer',
      agent: spec(
        'writer',
        'You are a writer. Combine the results you are given into a short, clear answer to the goal. Do not invent facts.',
        [],
      ),
    },
  ];
}
