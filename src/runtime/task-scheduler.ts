import { AsyncResource } from 'node:async_hooks';
import PQueue from 'p-queue';
import type { AgentContext, RoleRegistry } from '../../agents/index.js';
import type { EpisodeStore } from '../../memory/index.js';
import { schedulingPriority, topologicalOrder, type Task, type TaskGraph } from '../../planners/index.js';
import { throwIfAborted, type CadreConfig } from '../core/index.js';
import type { ExecutionStore } from './store/index.js';
import type { TaskOutcome } from './task-outcome.js';
import { runTask, settleTask, skippedOutcome } from './task-runner.js';

/** What carrying out a plan's tasks needs, whichever engine runs them. */
export interface TaskSchedulerOptions {
  roles: RoleRegistry;
  context: AgentContext;
  policy: Pick<CadreConfig, 'concurrency' | 'failurePolicy' | 'maxRetries'>;
  /** Outcomes committed the moment a task ends: a resumed run reads them back instead of redoing the task. */
  outcomes: Pick<ExecutionStore['outcomes'], 'get' | 'put'>;
  /** Lessons of the `reflect` policy are kept here. */
  episodes?: EpisodeStore;
  /** Called as each task ends in this process, so a run that stops early still reports them. */
  onOutcome?: (outcome: TaskOutcome) => void;
  /**
   * Run each queued task in the async context it was issued from. The workflow needs it (LangGraph's
   * `interrupt()` finds its task through that context); binding costs a little, so others skip it.
   */
  bindContext?: boolean;
  /** Around each task that runs (memory: recall before, record after). */
  hooks?: {
    before?: (task: Task) => Promise<string | undefined>;
    after?: (task: Task, outcome: TaskOutcome) => Promise<void>;
  };
}

/**
 * Runs a plan's tasks: every ready task starts at once, up to `concurrency`; a task waits only for
 * its own dependencies, not for a whole layer, and among ready tasks the one heading the longest
 * chain goes first. A task whose dependency failed or was skipped is skipped.
 */
export class TaskScheduler {
  private readonly queue: PQueue;
  private priority = new Map<string, number>();
  private stopped = false;
  /** Each issued task's outcome, across plan revisions: a revised task may depend on an earlier one. */
  readonly promises = new Map<string, Promise<TaskOutcome>>();

  constructor(private readonly o: TaskSchedulerOptions) {
    this.queue = new PQueue({ concurrency: o.policy.concurrency });
  }

  /** Ranks the graph's tasks for the queue (see `schedulingPriority`). */
  prioritise(graph: TaskGraph): void {
    this.priority = schedulingPriority(graph);
  }

  /** Runs one task (or reads back its committed outcome) once its dependencies have ended. */
  async execute(task: Task, revision: number, firstAttempt: number): Promise<TaskOutcome> {
    const { o } = this;
    const saved = await o.outcomes.get(o.context.runId, task.id, firstAttempt);
    if (saved) return saved;
    const inputs = await Promise.all(task.dependsOn.map((d) => this.promises.get(d)!));
    const blocked = inputs.find((i) => i.status !== 'completed');
    if (blocked)
      return this.skip(
        task,
        revision,
        `depends on ${blocked.taskId}, which ${blocked.status === 'failed' ? 'failed' : 'was skipped'}`,
      );
    // A queued job otherwise starts in the async context of the job that freed its slot.
    const job = async (): Promise<TaskOutcome> => {
      // A cancelled run (or one past its budget) starts nothing new; what is running drains.
      throwIfAborted(o.context.signal);
      if (this.stopped) return this.skip(task, revision, 'the run stops at the first failure (fail-fast)');
      const { failurePolicy } = o.policy;
      const recalled = await o.hooks?.before?.(task);
      const outcome = await runTask({
        task,
        inputs,
        roles: o.roles,
        context: o.context,
        retries: failurePolicy === 'continue' || failurePolicy === 'fail-fast' ? 0 : o.policy.maxRetries,
        revision,
        firstAttempt,
        reflect: failurePolicy === 'reflect',
        ...(o.episodes ? { episodes: o.episodes } : {}),
        ...(recalled ? { recalled } : {}),
      });
      await o.hooks?.after?.(task, outcome);
      if (outcome.status === 'failed' && failurePolicy === 'fail-fast') this.stopped = true;
      await settleTask(o.context, o.outcomes, firstAttempt, outcome);
      o.onOutcome?.(outcome);
      return outcome;
    };
    return await this.queue.add(o.bindContext ? AsyncResource.bind(job) : job, {
      priority: this.priority.get(task.id) ?? 0,
    });
  }

  private skip(task: Task, revision: number, reason: string): TaskOutcome {
    this.o.context.events.emit({ type: 'task.skipped', taskId: task.id, reason });
    return skippedOutcome(task, revision, reason);
  }
}

/** Where a run's revisions stand: the plan, the outcomes kept from earlier revisions, attempts so far. */
export interface RevisionState {
  graph: TaskGraph;
  revision: number;
  /** Completed outcomes carried into the next revision (failed and skipped ones are retried). */
  outcomes: Map<string, TaskOutcome>;
  /** Attempts made at each task id in earlier revisions: a task's next attempt number follows them. */
  attempts: Map<string, number>;
}

/** What the revision loop asks of its engine. */
export interface RevisionSteps {
  policy: Pick<CadreConfig, 'failurePolicy' | 'maxReplans'>;
  /** Starts a task (through the engine's own durable step when it has one). */
  issue(task: Task, revision: number, firstAttempt: number): Promise<TaskOutcome>;
  /** A revised plan after a failure, or null when none can be made. */
  revise(graph: TaskGraph, failed: TaskOutcome, completed: string[]): Promise<TaskGraph | null>;
  /** Called when a revision is about to start, with what it starts from; awaited. */
  onRevision?(state: RevisionState): void | Promise<void>;
}

/**
 * Carries out the plan's pending tasks; on a failure under the `replan` policy, revises the plan
 * (keeping what completed) and carries out the revision, up to `maxReplans` times.
 */
export async function runRevisions(
  scheduler: TaskScheduler,
  steps: RevisionSteps,
  state: RevisionState,
): Promise<RevisionState> {
  let { graph, revision } = state;
  const { outcomes, attempts } = state;
  // Tasks completed before a resume are read back, not issued: their dependents wait on them all the same.
  for (const [id, outcome] of outcomes)
    if (!scheduler.promises.has(id)) scheduler.promises.set(id, Promise.resolve(outcome));
  for (;;) {
    // Issued in one synchronous pass, in topological order: the call order (which LangGraph uses to
    // match checkpointed results on resume) never depends on timing.
    const pending = topologicalOrder(graph).filter((t) => !outcomes.has(t.id));
    scheduler.prioritise(graph);
    for (const task of pending) {
      // LangGraph types a task's result as Promise<Promise<T>>; `then` flattens the type (the value already is).
      const firstAttempt = (attempts.get(task.id) ?? 0) + 1;
      scheduler.promises.set(
        task.id,
        steps.issue(task, revision, firstAttempt).then((outcome) => outcome),
      );
    }
    const settled = await Promise.allSettled(pending.map((t) => scheduler.promises.get(t.id)!));
    const stopped = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (stopped) throw stopped.reason;
    for (const s of settled) {
      const outcome = (s as PromiseFulfilledResult<TaskOutcome>).value;
      outcomes.set(outcome.taskId, outcome);
      attempts.set(outcome.taskId, (attempts.get(outcome.taskId) ?? 0) + outcome.attempts);
    }
    const failed = pending.map((t) => outcomes.get(t.id)!).find((x) => x.status === 'failed');
    if (!failed || steps.policy.failurePolicy !== 'replan' || revision >= steps.policy.maxReplans)
      return { graph, revision, outcomes, attempts };
    const completed = [...outcomes.values()].filter((x) => x.status === 'completed').map((x) => x.taskId);
    const revised = await steps.revise(graph, failed, completed);
    if (!revised) return { graph, revision, outcomes, attempts };
    graph = revised;
    revision += 1;
    for (const [id, outcome] of outcomes) if (outcome.status !== 'completed') outcomes.delete(id);
    await steps.onRevision?.({ graph, revision, outcomes, attempts });
  }
}
