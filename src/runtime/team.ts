import {
  RoleRegistry,
  builtinRoles,
  createDelegateTool,
  createMemoryTools,
  routeFor,
  type Agent,
  type AgentContext,
  type AgentSpec,
  type RoleDefinition,
} from '../../agents/index.js';
import type { Memory } from '../../memory/index.js';
import {
  LlmPlanner,
  LlmReplanner,
  RetryReplanner,
  type Planner,
  type Replanner,
  type TaskGraph,
} from '../../planners/index.js';
import { builtinTools } from '../../tools/builtin/index.js';
import type { Tool } from '../../tools/define-tool.js';
import { CadreError, type CadreConfig } from '../core/index.js';
import type { ModelRouter, RouteDecision } from '../models/router.js';
import { accounting } from './model-accounting.js';

export interface TeamOptions {
  goal: string;
  agent?: Agent | AgentSpec;
  roles?: readonly RoleDefinition[];
  planner?: Planner;
  replanner?: Replanner;
  /** When given, every spec-defined role also gets the memory tools (remember, recall, graph_query). */
  memory?: Memory;
  /** Tools every spec-defined role gets: the run's own and MCP tools. */
  tools?: readonly Tool[];
}

export interface Team {
  roles: RoleRegistry;
  planner: Planner;
  replanner: Replanner;
}

/** The task id of a single-agent run: its plan is this one task. */
export const mainTask = 'main';

/**
 * Who does the work and who plans it. One `agent`: a one-task plan, no planning call. Otherwise
 * the given roles (default: the built-in researcher, coder, critic and writer over the built-in
 * tools), planned and revised by a model the router picks for planning.
 */
export function assembleTeam(
  options: TeamOptions,
  config: CadreConfig,
  router: ModelRouter,
  context: () => AgentContext,
): Team {
  const memoryTools = [...(options.memory ? createMemoryTools(options.memory) : []), ...(options.tools ?? [])];
  const agentOptions = { toolTimeoutMs: config.toolTimeoutMs, toolOutputMaxChars: config.toolOutputMaxChars };
  if (options.agent) {
    const agent = options.agent;
    const roles = new RoleRegistry([{ name: agent.name, description: 'carries out the goal', agent }], {
      ...agentOptions,
      extraTools: memoryTools,
    });
    const planner = options.planner ?? oneTaskPlanner(options.goal, agent.name);
    return { roles, planner, replanner: options.replanner ?? new RetryReplanner() };
  }
  const definitions =
    options.roles ??
    builtinRoles({
      tools: builtinTools({ root: config.workspaceDir, allowedHosts: config.httpAllowedHosts }),
      maxSteps: Math.min(10, config.maxSteps),
    });
  // With several roles, each can ask another a sub-question.
  const extraTools = [
    ...(definitions.length > 1 ? [createDelegateTool({ roles: () => roles, context })] : []),
    ...memoryTools,
  ];
  const roles: RoleRegistry = new RoleRegistry(definitions, { ...agentOptions, extraTools });
  // One model plans and revises the whole run; privacy and budget come from the run's context.
  let planning: Promise<RouteDecision> | undefined;
  const planModel = () =>
    (planning ??= routeFor(context(), 'plan', { taskKind: 'plan', text: options.goal, requiredCapabilities: [] }));
  return {
    roles,
    planner: options.planner ?? {
      plan: async (goal, planContext) => {
        const decision = await planModel();
        return new LlmPlanner({ model: decision.model }).plan(goal, {
          ...planContext,
          ...accounting(decision, 'plan', context()),
        });
      },
    },
    replanner: options.replanner ?? {
      revise: async (graph, failure, planContext) => {
        const decision = await planModel();
        return new LlmReplanner({ model: decision.model }).revise(graph, failure, {
          ...planContext,
          ...accounting(decision, 'replan', context()),
        });
      },
    },
  };
}

/**
 * The plan of a run of one agent: one task carrying out the goal. Made here from the goal run()
 * checked and the agent's name, so it skips the plan check a planner's plan goes through.
 */
function oneTaskPlanner(goal: string, role: string): Planner {
  if (typeof role !== 'string' || role === '') throw new CadreError('input_invalid', 'The agent needs a `name`');
  const graph: TaskGraph = {
    goal,
    tasks: [{ id: mainTask, title: 'Carry out the goal', instruction: goal, role, dependsOn: [] }],
  };
  return { plan: async () => ({ graph, attempts: 0, rejected: [] }) };
}
