import type { AgentContext, RoleRegistry } from '../../agents/index.js';
import type { Planner, Replanner, Task, TaskGraph } from '../../planners/index.js';
import type { CadreConfig } from '../core/index.js';
import { withPrivacy } from '../models/privacy-label.js';
import { planChecks } from './plan-checks.js';
import { revisePlan } from './revise-plan.js';
import { summarise } from './run-summary.js';
import type { TaskOutcomeLog } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import { runTask, settleTask } from './task-runner.js';
import type { WorkflowOutput } from './workflow.js';

export interface DirectRunOptions {
  goal: string;
  planner: Planner;
  replanner: Replanner;
  roles: RoleRegistry;
  context: AgentContext;
  policy: Pick<CadreConfig, 'failurePolicy' | 'maxRetries' | 'maxReplans'>;
  outcomes: TaskOutcomeLog;
  onPlan?: (graph: TaskGraph) => void;
  onOutcome?: (outcome: TaskOutcome) => void;
}

/**
 * A single-agent run carried out without a LangGraph workflow: one task needs no scheduling, and
 * what a checkpoint would give a resume is kept anyway — each plan revision and each finished attempt
 * (the task outcome log), every step (the step journal) and every call with effects (the tool-call
 * journal). A resumed run reads back the latest revision and any finished attempt, and an unfinished
 * attempt replays its journal, so nothing done is done again.
 */
export async function runDirect(o: DirectRunOptions): Promise<WorkflowOutput> {
  const { runId, events } = o.context;
  const { planContext, validate } = planChecks(o.roles, o.context.signal);
  const kept = o.outcomes.lastRevision(runId);
  let revision = kept?.revision ?? 0;
  let firstAttempt = kept?.firstAttempt ?? 1;
  let graph: TaskGraph;
  if (kept) {
    graph = validate(kept.graph);
  } else {
    const report = await o.planner.plan(o.goal, planContext());
    graph = report.graph;
    events.emit({ type: 'plan.created', graph, attempts: report.attempts, rejected: report.rejected });
    o.onPlan?.(graph);
    o.outcomes.putRevision(runId, 0, { graph, firstAttempt });
  }
  for (;;) {
    const task = graph.tasks[0]!;
    const outcome = o.outcomes.get(runId, task.id, firstAttempt) ?? (await attempt(o, task, revision, firstAttempt));
    if (outcome.status !== 'failed' || o.policy.failurePolicy !== 'replan' || revision >= o.policy.maxReplans) {
      return summarise(graph, new Map([[task.id, outcome]]));
    }
    const revised = await revisePlan(
      {
        replanner: o.replanner,
        validate,
        planContext: planContext(),
        events,
        ...(o.onPlan ? { onPlan: o.onPlan } : {}),
      },
      graph,
      outcome,
      [],
    );
    if (!revised) return summarise(graph, new Map([[task.id, outcome]]));
    graph = revised;
    revision += 1;
    firstAttempt += outcome.attempts;
    o.outcomes.putRevision(runId, revision, { graph, firstAttempt });
  }
}

/** One attempt at the task (with its retries), committed before `task.completed` is emitted. */
async function attempt(o: DirectRunOptions, task: Task, revision: number, firstAttempt: number): Promise<TaskOutcome> {
  const retries =
    o.policy.failurePolicy === 'continue' || o.policy.failurePolicy === 'fail-fast' ? 0 : o.policy.maxRetries;
  const outcome = await withPrivacy(o.context.privacy, () =>
    runTask({
      task,
      inputs: [],
      roles: o.roles,
      context: o.context,
      retries,
      revision,
      firstAttempt,
      reflect: o.policy.failurePolicy === 'reflect',
    }),
  );
  settleTask(o.context, o.outcomes, firstAttempt, outcome);
  o.onOutcome?.(outcome);
  return outcome;
}
