import { AsyncResource } from 'node:async_hooks';
import { entrypoint, interrupt, task as step, type BaseCheckpointSaver } from '@langchain/langgraph';
import PQueue from 'p-queue';
import type { AgentContext, RoleRegistry } from '../../agents/index.js';
import type { EpisodeStore, Memory } from '../../memory/index.js';
import { learnFromTask, recallForPlan, recallForTask, recordPlan, recordTask, reusablePlan } from './run-memory.js';
import {
  schedulingPriority,
  topologicalOrder,
  type Planner,
  type Replanner,
  type Task,
  type TaskGraph,
} from '../../planners/index.js';
import { CadreError, type CadreConfig } from '../core/index.js';
import { withPrivacy } from '../models/privacy-label.js';
import type { TaskOutcomeLog } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import { runTask, settleTask, skippedOutcome } from './task-runner.js';
import { planChecks } from './plan-checks.js';
import { revisePlan } from './revise-plan.js';
import { summarise, type WorkflowOutput } from './run-summary.js';
import type { ToolApprovalRequest } from './tool-approval-gate.js';

/** A human's or program's answer to the approval gate. */
export interface PlanDecision {
  action: 'approve' | 'edit' | 'reject';
  /** The edited plan, for `edit`; validated like any other. */
  graph?: unknown;
  reason?: string;
}

/** What the plan gate shows: the plan waiting for a decision. */
export interface PlanApprovalRequest {
  kind: 'plan_approval';
  graph: TaskGraph;
}

/** What a run stopped at `awaiting_approval` waits for: its plan, or one tool call. */
export type ApprovalRequest = PlanApprovalRequest | ToolApprovalRequest;

export type { WorkflowOutput } from './run-summary.js';

export interface WorkflowOptions {
  planner: Planner;
  replanner: Replanner;
  roles: RoleRegistry;
  context: AgentContext;
  checkpointer: BaseCheckpointSaver;
  policy: Pick<CadreConfig, 'concurrency' | 'failurePolicy' | 'maxRetries' | 'maxReplans' | 'learnFacts'>;
  approval: boolean;
  /** Lessons of the `reflect` policy are kept here. */
  episodes?: EpisodeStore;
  /** Shared memory: recalled before planning and before each task, written after each task and run. */
  memory?: Memory;
  /** Called when the plan is made, approved or revised, to keep the runs table current. */
  onPlan?: (graph: TaskGraph) => void;
  /** Outcomes committed the moment a task ends, before LangGraph's own checkpoint write. */
  outcomes: Pick<TaskOutcomeLog, 'get' | 'put'>;
  /** Called as each task ends in this process, so a run that stops early still reports them. */
  onOutcome?: (outcome: TaskOutcome) => void;
}

/**
 * Compiles a run into a LangGraph functional workflow. Planning, the approval decision, each task
 * and each revision are LangGraph tasks, so their results are checkpointed the moment they finish
 * and a resumed run (after an interrupt, a cancel or kill -9) reads them back instead of redoing them.
 * Every ready task starts at once, up to `concurrency`; a task waits only for its own dependencies,
 * not for a whole layer, and among ready tasks the one heading the longest chain goes first.
 */
export function createRunWorkflow(o: WorkflowOptions) {
  const { events } = o.context;
  // Ready tasks wait here; the one heading the longest remaining chain of tasks goes first.
  const queue = new PQueue({ concurrency: o.policy.concurrency });
  let priority = new Map<string, number>();
  const promises = new Map<string, Promise<TaskOutcome>>();
  let stopScheduling = false;
  const { planContext, validate } = planChecks(o.roles, o.context.signal);
  // Memory's embedders and summarisers sit too deep in the stores to be handed the run's privacy;
  // every step carries it in its async context instead (`withPrivacy`), tools and delegation included.
  const privately =
    <A extends unknown[], R>(work: (...args: A) => Promise<R>) =>
    (...args: A) =>
      withPrivacy(o.context.privacy, () => work(...args));

  const plan = step(
    'plan',
    privately(async (goal: string): Promise<{ graph: TaskGraph; reusedFrom?: string }> => {
      const reused = o.memory ? await reuse(o.memory, goal) : undefined;
      if (reused) {
        events.emit({ type: 'plan.created', graph: reused.graph, attempts: 0, rejected: [], reusedFrom: reused.id });
        o.onPlan?.(reused.graph);
        return { graph: reused.graph, reusedFrom: reused.id };
      }
      const hints = o.memory ? await quietly(() => recallForPlan(o.memory!, goal, events)) : undefined;
      const report = await o.planner.plan(goal, { ...planContext(), ...(hints ? { hints } : {}) });
      events.emit({ type: 'plan.created', graph: report.graph, attempts: report.attempts, rejected: report.rejected });
      o.onPlan?.(report.graph);
      return { graph: report.graph };
    }),
  );

  // A remembered plan is used only if it still validates against today's roles and tools.
  async function reuse(memory: Memory, goal: string): Promise<{ id: string; graph: TaskGraph } | undefined> {
    const found = await quietly(() => reusablePlan(memory, goal));
    if (!found) return undefined;
    try {
      return { id: found.id, graph: validate({ ...(found.graph as TaskGraph), goal }) };
    } catch {
      return undefined;
    }
  }

  // Memory helps but never decides a run: a store that fails is logged and the run goes on without it.
  async function quietly<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      o.context.logger?.warn({ err: CadreError.from(error).toJSON() }, 'memory unavailable for this step');
      return undefined;
    }
  }

  const rememberPlan = step(
    'remember_plan',
    privately(async (goal: string, graph: TaskGraph, succeeded: boolean, reusedFrom: string | null) => {
      if (o.memory) await quietly(() => recordPlan(o.memory!, goal, graph, succeeded, reusedFrom ?? undefined, events));
      return true;
    }),
  );

  const decide = step('decide', async (decision: PlanDecision, graph: TaskGraph) => {
    const action = decision?.action ?? 'reject';
    const chosen = action === 'edit' ? validate(decision.graph) : graph;
    const reason = decision?.reason ?? (action === 'reject' ? 'rejected at the approval gate' : undefined);
    events.emit({
      type: 'plan.approval',
      decision: action === 'approve' ? 'approved' : action === 'edit' ? 'edited' : 'rejected',
      ...(reason ? { reason } : {}),
    });
    if (action === 'edit') o.onPlan?.(chosen);
    return { graph: chosen, rejected: action === 'reject' };
  });

  const execute = step(
    'task',
    privately(async (task: Task, revision: number, firstAttempt: number): Promise<TaskOutcome> => {
      const saved = o.outcomes.get(o.context.runId, task.id, firstAttempt);
      if (saved) return saved;
      const inputs = await Promise.all(task.dependsOn.map((d) => promises.get(d)!));
      const blocked = inputs.find((i) => i.status !== 'completed');
      if (blocked)
        return skip(
          task,
          revision,
          `depends on ${blocked.taskId}, which ${blocked.status === 'failed' ? 'failed' : 'was skipped'}`,
        );
      // Bound to this task's async context: a queued job otherwise starts in the context of the job
      // that freed its slot, and LangGraph's interrupt() would answer for the wrong task.
      return await queue.add(
        AsyncResource.bind(async () => {
          if (stopScheduling) return skip(task, revision, 'the run stops at the first failure (fail-fast)');
          const retries =
            o.policy.failurePolicy === 'continue' || o.policy.failurePolicy === 'fail-fast' ? 0 : o.policy.maxRetries;
          const reflect = o.policy.failurePolicy === 'reflect';
          const recalled = o.memory ? await quietly(() => recallForTask(o.memory!, task, events)) : undefined;
          const outcome = await runTask({
            task,
            inputs,
            roles: o.roles,
            context: o.context,
            retries,
            revision,
            firstAttempt,
            reflect,
            ...(o.episodes ? { episodes: o.episodes } : {}),
            ...(recalled ? { recalled } : {}),
          });
          if (o.memory) await quietly(() => recordTask(o.memory!, o.context.runId, outcome, task, events));
          if (o.memory && o.policy.learnFacts) await quietly(() => learnFromTask(o.memory!, o.context, task, outcome));
          if (outcome.status === 'failed' && o.policy.failurePolicy === 'fail-fast') stopScheduling = true;
          settleTask(o.context, o.outcomes, firstAttempt, outcome);
          o.onOutcome?.(outcome);
          return outcome;
        }),
        { priority: priority.get(task.id) ?? 0 },
      );
    }),
  );

  // A revision that cannot be made ends replanning, not the run (see revisePlan).
  const revise = step(
    'revise',
    privately(async (graph: TaskGraph, failed: TaskOutcome, completed: string[]): Promise<TaskGraph | null> =>
      revisePlan(
        {
          replanner: o.replanner,
          validate,
          planContext: planContext(),
          events,
          ...(o.onPlan ? { onPlan: o.onPlan } : {}),
        },
        graph,
        failed,
        completed,
      ),
    ),
  );

  function skip(task: Task, revision: number, reason: string): TaskOutcome {
    events.emit({ type: 'task.skipped', taskId: task.id, reason });
    return skippedOutcome(task, revision, reason);
  }

  return entrypoint(
    { name: 'cadre_run', checkpointer: o.checkpointer },
    async (input: { goal: string }): Promise<WorkflowOutput> => {
      const planned = await plan(input.goal);
      let graph = planned.graph;
      if (o.approval) {
        const decision = interrupt<PlanApprovalRequest, PlanDecision>({ kind: 'plan_approval', graph });
        const decided = await decide(decision, graph);
        if (decided.rejected) return { status: 'rejected', answer: null, graph, tasks: [] };
        graph = decided.graph;
      }
      const outcomes = new Map<string, TaskOutcome>();
      const attemptsSoFar = new Map<string, number>();
      for (let revision = 0; ; revision++) {
        // Issued in one synchronous pass, in topological order: the call order (which LangGraph uses to
        // match checkpointed results on resume) never depends on timing.
        const pending = topologicalOrder(graph).filter((t) => !outcomes.has(t.id));
        priority = schedulingPriority(graph);
        for (const task of pending) {
          // LangGraph types a task's result as Promise<Promise<T>>; `then` flattens the type (the value already is).
          promises.set(
            task.id,
            execute(task, revision, (attemptsSoFar.get(task.id) ?? 0) + 1).then((outcome) => outcome),
          );
        }
        const settled = await Promise.allSettled(pending.map((t) => promises.get(t.id)!));
        const stopped = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (stopped) throw stopped.reason;
        for (const s of settled) {
          const outcome = (s as PromiseFulfilledResult<TaskOutcome>).value;
          outcomes.set(outcome.taskId, outcome);
          attemptsSoFar.set(outcome.taskId, (attemptsSoFar.get(outcome.taskId) ?? 0) + outcome.attempts);
        }
        const failed = pending.map((t) => outcomes.get(t.id)!).find((x) => x.status === 'failed');
        if (!failed || o.policy.failurePolicy !== 'replan' || revision >= o.policy.maxReplans) break;
        const completed = [...outcomes.values()].filter((x) => x.status === 'completed').map((x) => x.taskId);
        const revised = await revise(graph, failed, completed);
        if (!revised) break;
        graph = revised;
        for (const [id, outcome] of outcomes) if (outcome.status !== 'completed') outcomes.delete(id);
      }
      const summary = summarise(graph, outcomes);
      if (o.memory) await rememberPlan(input.goal, graph, summary.status === 'completed', planned.reusedFrom ?? null);
      return summary;
    },
  );
}
