import { entrypoint, interrupt, task as step, type BaseCheckpointSaver } from '@langchain/langgraph';
import type { AgentContext, RoleRegistry } from '../../agents/index.js';
import type { EpisodeStore, Memory } from '../../memory/index.js';
import { learnFromTask, recallForPlan, recallForTask, recordPlan, recordTask, reusablePlan } from './run-memory.js';
import type { Planner, Replanner, Task, TaskGraph } from '../../planners/index.js';
import { CadreError, type CadreConfig } from '../core/index.js';
import { withPrivacy } from '../models/privacy-label.js';
import type { ExecutionStore } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import { TaskScheduler, runRevisions } from './task-scheduler.js';
import { planChecks } from './plan-checks.js';
import { planReviser } from './revise-plan.js';
import { summarise, type WorkflowOutput } from './run-summary.js';
import type { ToolApprovalRequest } from './tool-approval-gate.js';
import type { ElicitationRequest } from './elicitation-answer.js';

/**
 * A human's or program's answer to what a run waits for: its plan (`approve`, `edit` or `reject`),
 * a tool call (`approve` or `reject`), or an MCP server's question (`approve` with `content`
 * accepts, `reject` declines).
 */
export interface PlanDecision {
  action: 'approve' | 'edit' | 'reject';
  /** The edited plan, for `edit`; validated like any other. */
  graph?: unknown;
  reason?: string;
  /**
   * The answer to an MCP server's question, for `approve`: a value for each field asked for
   * (strings, numbers, booleans, lists of strings); fields left out take the schema's defaults.
   */
  content?: Record<string, unknown>;
}

/** What the plan gate shows: the plan waiting for a decision. */
export interface PlanApprovalRequest {
  kind: 'plan_approval';
  graph: TaskGraph;
}

/** What a run stopped at `awaiting_approval` waits for: its plan, one tool call, or an MCP server's question. */
export type ApprovalRequest = PlanApprovalRequest | ToolApprovalRequest | ElicitationRequest;

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
  /** Called when the plan is made, approved or revised, to keep the runs table current; awaited. */
  onPlan?: (graph: TaskGraph) => void | Promise<void>;
  /** Outcomes committed the moment a task ends, before LangGraph's own checkpoint write. */
  outcomes: Pick<ExecutionStore['outcomes'], 'get' | 'put'>;
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
        await o.onPlan?.(reused.graph);
        return { graph: reused.graph, reusedFrom: reused.id };
      }
      const hints = o.memory ? await quietly(() => recallForPlan(o.memory!, goal, events)) : undefined;
      const report = await o.planner.plan(goal, { ...planContext(), ...(hints ? { hints } : {}) });
      events.emit({ type: 'plan.created', graph: report.graph, attempts: report.attempts, rejected: report.rejected });
      await o.onPlan?.(report.graph);
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
    if (action === 'edit') await o.onPlan?.(chosen);
    return { graph: chosen, rejected: action === 'reject' };
  });

  const memory = o.memory;
  const scheduler = new TaskScheduler({
    bindContext: true,
    roles: o.roles,
    context: o.context,
    policy: o.policy,
    outcomes: o.outcomes,
    ...(o.episodes ? { episodes: o.episodes } : {}),
    ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
    ...(memory
      ? {
          hooks: {
            before: (task: Task) => quietly(() => recallForTask(memory, task, events)),
            after: async (task: Task, outcome: TaskOutcome) => {
              await quietly(() => recordTask(memory, o.context.runId, outcome, task, events));
              if (o.policy.learnFacts) await quietly(() => learnFromTask(memory, o.context, task, outcome));
            },
          },
        }
      : {}),
  });
  const execute = step(
    'task',
    privately((task: Task, revision: number, firstAttempt: number) => scheduler.execute(task, revision, firstAttempt)),
  );

  // A revision that cannot be made ends replanning, not the run (see revisePlan).
  const revise = step(
    'revise',
    privately(planReviser({ replanner: o.replanner, validate, planContext, events, onPlan: o.onPlan })),
  );

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
      const end = await runRevisions(
        scheduler,
        {
          policy: o.policy,
          issue: (task, revision, firstAttempt) => execute(task, revision, firstAttempt).then((outcome) => outcome),
          revise: (current, failed, completed) => revise(current, failed, completed).then((revised) => revised),
        },
        { graph, revision: 0, outcomes: new Map(), attempts: new Map() },
      );
      const summary = summarise(end.graph, end.outcomes);
      if (o.memory)
        await rememberPlan(input.goal, end.graph, summary.status === 'completed', planned.reusedFrom ?? null);
      return summary;
    },
  );
}
