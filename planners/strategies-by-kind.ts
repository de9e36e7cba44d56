import { isTaskStrategy, taskStrategies, type TaskStrategy } from '../agents/strategies/task-strategies.js';
import { CadreError } from '../src/core/index.js';
import type { PlanContext } from './planner.js';
import type { TaskGraph } from './task-graph.js';

/**
 * The strategy a planner gives each task kind when the plan names none, e.g.
 * `{ reason: 'self-consistency' }`. A task's kind is its role's `taskKind` (`agent` when the role
 * declares none).
 */
export type StrategiesByKind = Readonly<Record<string, TaskStrategy>>;

/** Checks a planner's `strategies` option; throws `input_invalid` naming the bad kind. */
export function checkStrategiesByKind(strategies: StrategiesByKind | undefined): void {
  for (const [kind, strategy] of Object.entries(strategies ?? {}))
    if (typeof strategy !== 'string' || !isTaskStrategy(strategy))
      throw new CadreError(
        'input_invalid',
        `Invalid planner option strategies.${kind}: "${String(strategy)}"; known strategies: ${taskStrategies.join(', ')}`,
      );
}

/** The plan with each task that names no strategy given its kind's from `strategies`, if any. */
export function assignStrategies(
  graph: TaskGraph,
  strategies: StrategiesByKind | undefined,
  roles: PlanContext['roles'],
): TaskGraph {
  if (!strategies || Object.keys(strategies).length === 0) return graph;
  const kinds = new Map(roles.map((r) => [r.name, r.kind ?? 'agent']));
  return {
    ...graph,
    tasks: graph.tasks.map((task) => {
      const strategy = strategies[kinds.get(task.role) ?? 'agent'];
      return task.strategy === undefined && strategy ? { ...task, strategy } : task;
    }),
  };
}
