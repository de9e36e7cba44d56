import { routeFor, type AgentContext } from '../../agents/index.js';
import type { Memory } from '../../memory/index.js';
import { accounting } from './model-accounting.js';
import type { Task, TaskGraph } from '../../planners/index.js';
import type { RunEventStream } from '../core/index.js';
import { refusalOf } from '../models/privacy-scope.js';
import type { TaskOutcome } from './task-outcome.js';

/** How much recalled memory a plan or a task is shown, in tokens. */
const planBudget = 600;
const taskBudget = 400;

/** Reports a memory step privacy kept from a cloud embedder; a step that failed otherwise still throws. */
async function unlessWithheld<T>(
  work: () => Promise<T>,
  skipped: { events: RunEventStream; taskId: string; kind: 'task_result' | 'plan' },
): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    const refusal = refusalOf(error);
    if (!refusal) throw error;
    skipped.events.emit({ type: 'memory.skipped', taskId: skipped.taskId, kind: skipped.kind, ...refusal });
    return undefined;
  }
}

/** What memory says about a goal, as planner hints; emits `memory.recalled` when there is any. */
export async function recallForPlan(memory: Memory, goal: string, events: RunEventStream): Promise<string | undefined> {
  const found = await memory.recall(goal, { tokenBudget: planBudget, tiers: ['vector', 'episodic', 'graph'] });
  if (found.withheld) events.emit({ type: 'memory.skipped', taskId: 'plan', kind: 'recall', ...found.withheld });
  if (found.items.length === 0) return undefined;
  events.emit({ type: 'memory.recalled', taskId: 'plan', kind: 'context', items: found.items.map((i) => i.text) });
  return found.text;
}

/** A plan that worked for a very similar goal, if memory has one (none when the goal may not be embedded). */
export async function reusablePlan(memory: Memory, goal: string): Promise<{ id: string; graph: unknown } | undefined> {
  const [best] = await memory.procedures
    .match(goal, { scope: memory.scope, minSimilarity: 0.9, k: 1 })
    .catch((error: unknown) => {
      if (refusalOf(error)) return [];
      throw error;
    });
  return best && best.template.successes > best.template.failures
    ? { id: best.template.id, graph: best.template.graph }
    : undefined;
}

/** Memory relevant to one task, as context lines; emits `memory.recalled` when there is any. */
export async function recallForTask(memory: Memory, task: Task, events: RunEventStream): Promise<string | undefined> {
  const found = await memory.recall(`${task.title}. ${task.instruction}`, { tokenBudget: taskBudget });
  if (found.withheld) events.emit({ type: 'memory.skipped', taskId: task.id, kind: 'recall', ...found.withheld });
  if (found.items.length === 0) return undefined;
  events.emit({ type: 'memory.recalled', taskId: task.id, kind: 'context', items: found.items.map((i) => i.text) });
  return found.text;
}

/** A finished task's result goes to vector memory and its outcome to episodic memory. */
export async function recordTask(
  memory: Memory,
  runId: string,
  outcome: TaskOutcome,
  task: Task,
  events: RunEventStream,
): Promise<void> {
  if (outcome.status === 'completed' && outcome.answer) {
    const text = `${task.title}: ${outcome.answer}`;
    const written = await unlessWithheld(
      () => memory.remember(text, { kind: 'task_result', source: `${runId}/${task.id}` }),
      { events, taskId: task.id, kind: 'task_result' },
    );
    if (written) events.emit({ type: 'memory.written', taskId: task.id, kind: 'task_result', id: written.id });
  }
  if (outcome.status === 'skipped') return;
  const id = `${runId}:${task.id}:outcome`;
  await memory.episodes.add({
    id,
    runId,
    taskId: task.id,
    task: task.instruction,
    outcome: outcome.status === 'completed' ? 'success' : 'failure',
    importance: outcome.status === 'completed' ? 0.3 : 0.6,
    createdAt: Date.now(),
    scope: memory.scope,
    trajectory: `${outcome.attempts} attempt(s), ${outcome.steps} model calls${outcome.error ? `; ${outcome.error.message}` : ''}`,
  });
}

/**
 * Reads facts out of a task's result into the knowledge graph with the router's `extract` model,
 * routed like any call of the run: under its privacy label, and local when the text holds personal data.
 * The calls spend the run's budget and appear as `model.response` events of `<task>#facts`.
 */
export async function learnFromTask(
  memory: Memory,
  ctx: AgentContext,
  task: Task,
  outcome: TaskOutcome,
): Promise<void> {
  if (outcome.status !== 'completed' || !outcome.answer) return;
  const text = `${task.title}\n${outcome.answer}`;
  const decision = await routeFor(ctx, `${task.id}#facts`, { taskKind: 'extract', text });
  const facts = await memory.learnFacts(text, {
    model: decision.model,
    signal: ctx.signal,
    provenance: { runId: ctx.runId, taskId: task.id },
    ...accounting(decision, `${task.id}#facts`, ctx),
  });
  for (const fact of facts) ctx.events.emit({ type: 'memory.written', taskId: task.id, kind: 'facts', id: fact.id });
}

/** A run's plan: kept as a template when it worked, and the reused template's record updated. */
export async function recordPlan(
  memory: Memory,
  goal: string,
  graph: TaskGraph,
  succeeded: boolean,
  reusedFrom: string | undefined,
  events: RunEventStream,
): Promise<void> {
  if (reusedFrom) await memory.procedures.recordOutcome(reusedFrom, succeeded ? 'success' : 'failure', memory.scope);
  if (!succeeded || reusedFrom) return;
  // Keyed by the goal the user gave, which is what the next run will be matched on.
  const template = await unlessWithheld(() => memory.procedures.save({ goal, graph, scope: memory.scope }), {
    events,
    taskId: 'plan',
    kind: 'plan',
  });
  if (template) events.emit({ type: 'memory.written', taskId: 'plan', kind: 'plan', id: template.id });
}
