import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { CadreError } from '../src/core/index.js';
import { describeTeam } from './llm-planner.js';
import type { PlanContext, Replanner, TaskFailure } from './planner.js';
import { requestPlan } from './structured-plan.js';
import { TaskGraphSchema, type TaskGraph } from './task-graph.js';
import { descendantsOf } from './task-graph-ops.js';
import { validateTaskGraph } from './validate-task-graph.js';

/**
 * Merges a revision into a plan. Completed tasks are immutable: a revision may omit them (they are
 * kept as they were) or repeat them unchanged, but any change is rejected with `plan_invalid`.
 * The failed task and its descendants are replaced by the revision's other tasks.
 */
export function applyRevision(
  original: TaskGraph,
  revision: unknown,
  options: {
    completed: ReadonlySet<string>;
    failedTaskId: string;
    roles: readonly string[];
    tools?: readonly string[];
  },
): TaskGraph {
  const parsed = TaskGraphSchema.safeParse(revision);
  if (!parsed.success)
    throw new CadreError(
      'plan_invalid',
      `The revision is not a plan: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  const replaced = new Set([options.failedTaskId, ...descendantsOf(original, options.failedTaskId)]);
  const problems: string[] = [];
  const byId = new Map(original.tasks.map((t) => [t.id, t]));
  for (const task of parsed.data.tasks) {
    const before = byId.get(task.id);
    if (options.completed.has(task.id) && JSON.stringify(before) !== JSON.stringify(task))
      problems.push(`Task "${task.id}" is completed and cannot change`);
  }
  if (problems.length)
    throw new CadreError('plan_invalid', `The revision changes completed work:\n- ${problems.join('\n- ')}`, {
      details: { problems },
    });
  const revised = parsed.data.tasks.filter((t) => !options.completed.has(t.id));
  const revisedIds = new Set(revised.map((t) => t.id));
  const kept = original.tasks.filter((t) => !replaced.has(t.id) && !revisedIds.has(t.id));
  return validateTaskGraph(
    { goal: original.goal, tasks: [...kept, ...revised] },
    { roles: options.roles, tools: options.tools },
  );
}

/** Needs no model: retries the failed task with the error in its instruction. */
export class RetryReplanner implements Replanner {
  async revise(graph: TaskGraph, failure: TaskFailure): Promise<TaskGraph> {
    const tasks = graph.tasks.map((t) =>
      t.id === failure.taskId
        ? {
            ...t,
            instruction: `${t.instruction}\n\nThe previous attempt failed with: ${failure.error}\nAvoid that mistake.`,
          }
        : t,
    );
    return { ...graph, tasks };
  }
}

/** Asks a model to rewrite only the failed task and its not-yet-started descendants. */
export class LlmReplanner implements Replanner {
  constructor(private readonly options: { model: BaseChatModel; maxRepairs?: number }) {}

  async revise(graph: TaskGraph, failure: TaskFailure, context: PlanContext): Promise<TaskGraph> {
    const roles = context.roles.map((r) => r.name);
    const tools = context.tools.map((t) => t.name);
    const check = (value: unknown) => {
      try {
        return {
          ok: true as const,
          graph: applyRevision(graph, value, {
            completed: failure.completed,
            failedTaskId: failure.taskId,
            roles,
            tools,
          }),
        };
      } catch (error) {
        return { ok: false as const, problems: [{ code: 'schema' as const, message: (error as Error).message }] };
      }
    };
    const prompt = [
      `The plan below failed at task "${failure.taskId}": ${failure.error}`,
      `Completed tasks (do not change them): ${[...failure.completed].join(', ') || 'none'}.`,
      'Rewrite the failed task and the tasks after it so the goal can still be reached. Submit the whole plan.',
      '',
      JSON.stringify(graph, null, 2),
    ].join('\n');
    const { graph: revised } = await requestPlan({
      model: this.options.model,
      messages: [
        new SystemMessage(`You repair plans for a team of agents.\n\n${describeTeam(context)}`),
        new HumanMessage(prompt),
      ],
      check,
      maxRepairs: this.options.maxRepairs ?? 2,
      signal: context.signal,
      hooks: context,
    });
    return revised;
  }
}
