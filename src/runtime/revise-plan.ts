import type { PlanContext, Replanner, TaskGraph } from '../../planners/index.js';
import { CadreError, type RunEventStream } from '../core/index.js';
import type { TaskOutcome } from './task-outcome.js';

export interface RevisePlanOptions {
  replanner: Replanner;
  /** Checks the revised plan against the run's roles and tools. */
  validate: (graph: unknown) => TaskGraph;
  planContext: PlanContext;
  events: RunEventStream;
  onPlan?: (graph: TaskGraph) => void | Promise<void>;
}

/**
 * Asks the replanner to rewrite a failed task (and what depends on it). A revision that cannot be
 * made — the replanner's plans stay invalid, its model is down — ends replanning, not the run:
 * `null`, with `plan.revision_failed`. Cancellation and an exhausted budget stop the run.
 */
export async function revisePlan(
  o: RevisePlanOptions,
  graph: TaskGraph,
  failed: TaskOutcome,
  completed: readonly string[],
): Promise<TaskGraph | null> {
  const reason = failed.error?.message ?? 'failed';
  let revised: TaskGraph;
  try {
    revised = o.validate(
      await o.replanner.revise(
        graph,
        { taskId: failed.taskId, error: reason, completed: new Set(completed) },
        o.planContext,
      ),
    );
  } catch (thrown) {
    const error = CadreError.from(thrown, 'plan_invalid');
    if (error.code === 'cancelled' || error.code === 'budget_exceeded') throw error;
    o.events.emit({
      type: 'plan.revision_failed',
      failedTaskId: failed.taskId,
      error: { code: error.code, kind: error.kind, message: error.message },
    });
    return null;
  }
  o.events.emit({ type: 'plan.revised', graph: revised, failedTaskId: failed.taskId, reason });
  await o.onPlan?.(revised);
  return revised;
}

/** `revisePlan` bound to a run's replanner, checks and events, as both engines call it. */
export function planReviser(o: Omit<RevisePlanOptions, 'planContext'> & { planContext: () => PlanContext }) {
  return (graph: TaskGraph, failed: TaskOutcome, completed: readonly string[]): Promise<TaskGraph | null> =>
    revisePlan({ ...o, planContext: o.planContext() }, graph, failed, completed);
}
