import { CadreError, addUsage, emptyUsage, throwIfAborted, type Usage } from '../src/core/index.js';
import type { EpisodeStore } from '../memory/index.js';
import type { Agent, AgentContext, AgentTask, TaskResult } from './agent.js';
import type { AgentSpec } from './agent-spec.js';
import type { Evaluator } from './evaluators.js';
import { ReActAgent } from './react-agent.js';
import { reflectOnFailure, saveLesson } from './reflection.js';
import { isAgent } from './team-checks.js';

/** A {@link ReflexionAgent}'s actor, evaluator and attempt limit, and where its lessons are kept. */
export interface ReflexionOptions {
  /** Does the work; an AgentSpec becomes a ReActAgent. */
  actor: Agent | AgentSpec;
  evaluator: Evaluator;
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Where lessons are saved and recalled from. */
  episodes?: EpisodeStore;
  /** Lessons recalled before the first attempt. Default 3. */
  recall?: number;
}

const lessonsHeading = 'Lessons from earlier attempts at similar tasks:';

/**
 * Reflexion: the actor attempts the task, an evaluator judges the answer, and after a failure a
 * model writes a short lesson that the next attempt sees (and later tasks recall from `episodes`).
 */
export class ReflexionAgent implements Agent {
  readonly name: string;
  readonly role?: string;
  private readonly actor: Agent;
  private readonly maxAttempts: number;

  constructor(private readonly options: ReflexionOptions) {
    this.actor = isAgent(options.actor) ? options.actor : new ReActAgent(options.actor);
    this.name = this.actor.name;
    this.role = this.actor.role;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /** Attempts the task until the evaluator passes it; throws `task_failed` when attempts run out. */
  async run(task: AgentTask, ctx: AgentContext): Promise<TaskResult> {
    const lessons = await this.recallLessons(task, ctx);
    let context = lessons.length ? joinContext(`${lessonsHeading}\n${bullets(lessons)}`, task.context) : task.context;
    const start = task.attempt ?? 1;
    const total = { steps: 0, replayedSteps: 0, usage: emptyUsage(), costUsd: 0 };
    const feedback: string[] = [];
    for (let attempt = start; attempt < start + this.maxAttempts; attempt++) {
      throwIfAborted(ctx.signal);
      // Each attempt has its own `attempt` so the journal keeps (and replays) its steps apart.
      const result = await this.actor.run({ ...task, attempt, ...(context !== undefined ? { context } : {}) }, ctx);
      add(total, result.steps, result.replayedSteps, result.usage, result.costUsd);
      const verdict = await this.options.evaluator({ task, answer: result.answer, attempt, signal: ctx.signal });
      if (verdict.pass) return { ...result, ...total, attempts: attempt - start + 1 };
      feedback.push(verdict.feedback);
      if (attempt === start + this.maxAttempts - 1) break;
      throwIfAborted(ctx.signal);
      const preferredModel = this.actor instanceof ReActAgent ? this.actor.spec.model : undefined;
      const reflection = await reflectOnFailure(
        {
          task,
          attempt,
          answer: result.answer,
          feedback: verdict.feedback,
          ...(preferredModel ? { preferredModel } : {}),
        },
        ctx,
      );
      add(total, 1, reflection.replayed ? 1 : 0, reflection.step.usage, reflection.step.costUsd);
      const { lesson } = reflection;
      ctx.events.emit({ type: 'task.reflected', taskId: task.id, attempt, feedback: verdict.feedback, lesson });
      // Saved even when the reflection was replayed: the id is stable, so an upserting store keeps
      // one copy, and a crash between journaling and saving does not lose the lesson.
      await saveLesson(this.options.episodes, ctx, task, attempt, lesson);
      context = joinContext(context, `Attempt ${attempt} failed: ${verdict.feedback}\nLesson: ${lesson}`);
    }
    throw new CadreError(
      'task_failed',
      `Task ${task.id} failed evaluation after ${feedback.length} attempts: ${feedback.at(-1) ?? ''}`,
      {
        details: { attempts: feedback.length, feedback: feedback.at(-1), allFeedback: feedback },
      },
    );
  }

  private async recallLessons(task: AgentTask, ctx: AgentContext): Promise<string[]> {
    const k = this.options.recall ?? 3;
    if (!this.options.episodes || k <= 0) return [];
    // A resumed run must not recall lessons this very task wrote: its replayed attempts add them again.
    const found = await this.options.episodes.recall(task.instruction, { k: k * 2, lessonsOnly: true });
    const items = found
      .filter((e) => !(e.runId === ctx.runId && e.taskId === task.id))
      .slice(0, k)
      .map((e) => e.lesson!);
    if (items.length) ctx.events.emit({ type: 'memory.recalled', taskId: task.id, kind: 'lessons', items });
    return items;
  }
}

type Totals = { steps: number; replayedSteps: number; usage: Usage; costUsd: number };

function add(total: Totals, steps: number, replayedSteps: number, usage: Usage, costUsd: number): void {
  total.steps += steps;
  total.replayedSteps += replayedSteps;
  total.usage = addUsage(total.usage, usage);
  total.costUsd += costUsd;
}

const bullets = (items: string[]) => items.map((i) => `- ${i}`).join('\n');
const joinContext = (a: string | undefined, b: string | undefined) => [a, b].filter(Boolean).join('\n\n');
