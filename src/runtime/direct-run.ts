import type { AgentContext, RoleRegistry } from '../../agents/index.js';
import type { Planner, Replanner, TaskGraph } from '../../planners/index.js';
import type { CadreConfig } from '../core/index.js';
import { withPrivacy } from '../models/privacy-label.js';
import { planChecks } from './plan-checks.js';
import { planReviser } from './revise-plan.js';
import { summarise, type WorkflowOutput } from './run-summary.js';
import type { ExecutionStore, RevisionRecord } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import { TaskScheduler, runRevisions, type RevisionState } from './task-scheduler.js';

export interface DirectRunOptions {
  goal: string;
  planner: Planner;
  replanner: Replanner;
  roles: RoleRegistry;
  context: AgentContext;
  policy: Pick<CadreConfig, 'concurrency' | 'failurePolicy' | 'maxRetries' | 'maxReplans'>;
  outcomes: ExecutionStore['outcomes'];
  onPlan?: (graph: TaskGraph) => void | Promise<void>;
  onOutcome?: (outcome: TaskOutcome) => void;
}

/**
 * A run carried out without a LangGraph workflow: tasks are scheduled as the workflow schedules them,
 * and what a checkpoint would give a resume is kept anyway — each plan revision (with the attempts made
 * and the tasks completed before it), each finished attempt (the task outcome log), every step (the step
 * journal) and every call with effects (the tool-call journal). A resumed run reads back the latest
 * revision and every finished attempt, and an unfinished attempt replays its journal, so nothing done
 * is done again. Runs that stop for approvals or use memory keep the workflow (see run.ts).
 */
export async function runDirect(o: DirectRunOptions): Promise<WorkflowOutput> {
  const { runId, events } = o.context;
  const { planContext, validate, restore: readBack } = planChecks(o.roles, o.context.signal);
  const kept = await o.outcomes.lastRevision(runId);
  let state: RevisionState;
  if (kept) {
    state = await restore(o, readBack(kept.graph), kept);
  } else {
    const report = await o.planner.plan(o.goal, planContext());
    events.emit({ type: 'plan.created', graph: report.graph, attempts: report.attempts, rejected: report.rejected });
    await o.onPlan?.(report.graph);
    state = { graph: report.graph, revision: 0, outcomes: new Map(), attempts: new Map() };
    await o.outcomes.putRevision(runId, 0, record(state));
  }
  const scheduler = new TaskScheduler({
    roles: o.roles,
    context: o.context,
    policy: o.policy,
    outcomes: o.outcomes,
    ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
  });
  const end = await withPrivacy(o.context.privacy, () =>
    runRevisions(
      scheduler,
      {
        policy: o.policy,
        issue: (task, revision, firstAttempt) => scheduler.execute(task, revision, firstAttempt),
        revise: planReviser({ replanner: o.replanner, validate, planContext, events, onPlan: o.onPlan }),
        onRevision: (next) => o.outcomes.putRevision(runId, next.revision, record(next)),
      },
      state,
    ),
  );
  return summarise(end.graph, end.outcomes);
}

/** What a revision keeps: its plan, the attempts made so far, and the first attempt of each completed task. */
function record(state: RevisionState): RevisionRecord {
  return {
    graph: state.graph,
    attempts: Object.fromEntries(state.attempts),
    completed: Object.fromEntries(
      [...state.outcomes.values()].map((outcome) => [
        outcome.taskId,
        (state.attempts.get(outcome.taskId) ?? 0) - outcome.attempts + 1,
      ]),
    ),
  };
}

/** A kept revision as the loop continues it: completed tasks read back from the outcome log. */
async function restore(
  o: DirectRunOptions,
  graph: TaskGraph,
  kept: RevisionRecord & { revision: number },
): Promise<RevisionState> {
  // Revisions kept by single-agent runs before plans had many tasks hold only their task's first attempt.
  const attempts = new Map(Object.entries(kept.attempts ?? { [graph.tasks[0]!.id]: (kept.firstAttempt ?? 1) - 1 }));
  const outcomes = new Map<string, TaskOutcome>();
  for (const [taskId, firstAttempt] of Object.entries(kept.completed ?? {})) {
    const outcome = await o.outcomes.get(o.context.runId, taskId, firstAttempt);
    if (outcome) outcomes.set(taskId, outcome);
  }
  return { graph, revision: kept.revision, outcomes, attempts };
}
