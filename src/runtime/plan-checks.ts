import type { RoleRegistry } from '../../agents/index.js';
import { validateTaskGraph, type PlanContext, type TaskGraph } from '../../planners/index.js';

/** What planning sees of a run's team (roles, tools) and how a plan for it is checked. */
export function planChecks(roles: RoleRegistry, signal: AbortSignal) {
  return {
    planContext: (): PlanContext => ({
      roles: roles.describe(),
      tools: roles.tools().map((t) => ({ name: t.name, description: t.description })),
      signal,
    }),
    validate: (graph: unknown): TaskGraph =>
      validateTaskGraph(graph, { roles: roles.names(), tools: roles.tools().map((t) => t.name) }),
    /**
     * A kept plan, read back on resume, checked against today's team. Not against the size limits
     * that guard model-written plans: it was accepted when made, perhaps by a planner that raised them.
     */
    restore: (graph: unknown): TaskGraph =>
      validateTaskGraph(graph, {
        roles: roles.names(),
        tools: roles.tools().map((t) => t.name),
        maxTasks: Number.MAX_SAFE_INTEGER,
        maxDepth: Number.MAX_SAFE_INTEGER,
      }),
  };
}
