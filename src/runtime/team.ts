import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import {
  RoleRegistry, builtinRoles, createDelegateTool, type Agent, type AgentContext, type AgentSpec, type RoleDefinition,
} from '../../agents/index.js';
import { LlmPlanner, LlmReplanner, RetryReplanner, StaticPlanner, type Planner, type Replanner } from '../../planners/index.js';
import { builtinTools } from '../../tools/index.js';
import type { CadreConfig } from '../core/index.js';
import type { ModelRouter } from '../models/router.js';

export interface TeamOptions {
  goal: string;
  agent?: Agent | AgentSpec;
  roles?: readonly RoleDefinition[];
  planner?: Planner;
  replanner?: Replanner;
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
export function assembleTeam(options: TeamOptions, config: CadreConfig, router: ModelRouter, context: () => AgentContext): Team {
  const agentOptions = { toolTimeoutMs: config.toolTimeoutMs, toolOutputMaxChars: config.toolOutputMaxChars };
  if (options.agent) {
    const agent = options.agent;
    const roles = new RoleRegistry([{ name: agent.name, description: 'carries out the goal', agent }], agentOptions);
    const planner = options.planner ?? new StaticPlanner({ goal: options.goal, tasks: [{ id: mainTask, title: 'Carry out the goal', instruction: options.goal, role: agent.name }] });
    return { roles, planner, replanner: options.replanner ?? new RetryReplanner() };
  }
  const definitions = options.roles ?? builtinRoles({ tools: builtinTools({ root: config.workspaceDir, allowedHosts: config.httpAllowedHosts }), maxSteps: Math.min(10, config.maxSteps) });
  // With several roles, each can ask another a sub-question.
  const extraTools = definitions.length > 1 ? [createDelegateTool({ roles: () => roles, context })] : [];
  const roles: RoleRegistry = new RoleRegistry(definitions, { ...agentOptions, extraTools });
  const planModel = lazyModel(router, 'plan');
  return {
    roles,
    planner: options.planner ?? lazyPlanner(planModel),
    replanner: options.replanner ?? lazyReplanner(planModel),
  };
}

type ModelSource = () => Promise<BaseChatModel>;

function lazyModel(router: ModelRouter, taskKind: string): ModelSource {
  let chosen: Promise<BaseChatModel> | undefined;
  return () => (chosen ??= router.select({ taskKind, requiredCapabilities: [] }).then((d) => d.model));
}

const lazyPlanner = (model: ModelSource): Planner => ({
  plan: async (goal, context) => new LlmPlanner({ model: await model() }).plan(goal, context),
});

const lazyReplanner = (model: ModelSource): Replanner => ({
  revise: async (graph, failure, context) => new LlmReplanner({ model: await model() }).revise(graph, failure, context),
});
