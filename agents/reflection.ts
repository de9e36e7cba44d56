import { HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { ModelStep } from '../src/core/index.js';
import { invokeModel } from '../src/models/invoke-model.js';
import { costOfReply } from '../src/models/reply-info.js';
import { usageFromMessage } from '../src/models/usage.js';
import type { EpisodeStore } from '../memory/index.js';
import type { AgentContext, AgentTask } from './agent.js';
import { routeFor } from './route-request.js';

/** A failed attempt to reflect on: the task, what the attempt produced, and why it failed. */
export interface ReflectionInput {
  task: AgentTask;
  /** The failed attempt, 1 for the first. */
  attempt: number;
  /** What the failed attempt produced: its answer, or what it was doing when it failed. */
  answer: string;
  /** Why it failed: an evaluator's feedback or the error. */
  feedback: string;
  /** `provider:model` to prefer for the reflection. */
  preferredModel?: string;
}

/** A lesson and what writing it cost; `replayed` when it came from the journal. */
export interface Reflection {
  lesson: string;
  step: ModelStep;
  replayed: boolean;
}

/**
 * Writes a one- or two-sentence lesson about a failed attempt — the Reflexion step. Journaled under
 * `<task>#reflect<attempt>`, so a resumed run reads it back instead of paying for it again; a new
 * call is charged to the budget.
 */
export async function reflectOnFailure(input: ReflectionInput, ctx: AgentContext): Promise<Reflection> {
  const { task, attempt } = input;
  const key = `${task.id}#reflect${attempt}`;
  const recorded = (await ctx.journal.replay(ctx.runId, key)).find((s): s is ModelStep => s.kind === 'model');
  if (recorded) return { lesson: recorded.content, step: recorded, replayed: true };
  const messages = [
    new SystemMessage('You review failed attempts at tasks and state plainly what to do differently.'),
    new HumanMessage(
      `Task:\n${task.instruction}\n\nAnswer given:\n${input.answer}\n\nWhy it failed:\n${input.feedback}\n\n` +
        'In one or two sentences, say what to do differently next time. Reply with the lesson only.',
    ),
  ];
  const decision = await routeFor(ctx, task.id, {
    taskKind: 'reflect',
    text: textOf(messages[1]!),
    ...(input.preferredModel ? { preferred: input.preferredModel } : {}),
  });
  const reservation = ctx.budget.beforeStep(decision.estimate?.(messages));
  const started = performance.now();
  let step: ModelStep;
  try {
    const message = await invokeModel(decision.model, messages, { signal: ctx.signal, ref: decision.ref });
    const { model, costUsd } = costOfReply(message, decision.ref);
    step = {
      kind: 'model',
      runId: ctx.runId,
      taskId: key,
      index: 0,
      model,
      content: textOf(message).trim(),
      toolCalls: [],
      usage: usageFromMessage(message),
      costUsd,
    };
    await ctx.journal.append(step);
  } catch (error) {
    reservation.release();
    throw error;
  }
  const { model, costUsd } = step;
  ctx.events.emit({
    type: 'model.response',
    taskId: key,
    step: 1,
    model,
    content: step.content,
    toolCalls: [],
    usage: step.usage,
    costUsd,
    latencyMs: performance.now() - started,
    replayed: false,
  });
  reservation.settle(step.usage, step.costUsd);
  return { lesson: step.content, step, replayed: false };
}

const textOf = (m: BaseMessage) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));

/**
 * Keeps a failed attempt's lesson for later runs. Its id is stable per run, task and attempt, so
 * saving it again (after a replayed reflection) leaves one copy in an upserting store.
 */
export async function saveLesson(
  episodes: EpisodeStore | undefined,
  ctx: Pick<AgentContext, 'runId'>,
  task: Pick<AgentTask, 'id' | 'instruction'>,
  attempt: number,
  lesson: string,
): Promise<void> {
  await episodes?.add({
    id: `${ctx.runId}:${task.id}:${attempt}`,
    runId: ctx.runId,
    taskId: task.id,
    task: task.instruction,
    outcome: 'failure',
    lesson,
    importance: 0.7,
    createdAt: Date.now(),
  });
}
