import type { Usage } from './usage.js';
import type { ErrorInfo, ToolCallInfo } from './events.js';

/** A model response as recorded in the journal: enough to replay it without calling the model. */
export interface ModelStep {
  kind: 'model';
  runId: string;
  taskId: string;
  index: number;
  model: string;
  content: string;
  toolCalls: ToolCallInfo[];
  usage: Usage;
  costUsd: number;
}

/** A finished tool call as recorded in the journal. */
export interface ToolStep {
  kind: 'tool';
  runId: string;
  taskId: string;
  index: number;
  /** cadre's identity of the call: its position `<step>.<n>` in the attempt (model ids repeat). */
  call?: string;
  /** `callDigest(tool, args)` of the arguments as asked, before a store redacted them. */
  digest?: string;
  /** The model's id for the call, for pairing the result in the conversation. */
  callId: string;
  tool: string;
  args: Record<string, unknown>;
  ok: boolean;
  output: string;
  error?: ErrorInfo;
}

/** One step of a task in the journal: a model reply or a finished tool call. */
export type JournalStep = ModelStep | ToolStep;

/**
 * The ordered record of what an agent did in one task. Re-running a task with the same journal
 * replays these steps instead of calling the model or tools again.
 */
export interface StepJournal {
  /** Records the next step of a task. */
  append(step: JournalStep): void | Promise<void>;
  /** The steps recorded for a task attempt (its `attemptKey`), in order. */
  replay(runId: string, taskId: string): readonly JournalStep[] | Promise<readonly JournalStep[]>;
  /**
   * Optional: every step of a run, grouped by task attempt key (each attempt's steps in order), for
   * a run's trace in one read rather than one per attempt.
   */
  replayRun?(
    runId: string,
  ): ReadonlyMap<string, readonly JournalStep[]> | Promise<ReadonlyMap<string, readonly JournalStep[]>>;
}

/** A StepJournal held in memory; the default for a single process. */
export class InMemoryStepJournal implements StepJournal {
  private readonly steps = new Map<string, JournalStep[]>();

  append(step: JournalStep): void {
    const key = `${step.runId}\u0000${step.taskId}`;
    const list = this.steps.get(key);
    if (list) list.push(step);
    else this.steps.set(key, [step]);
  }

  replay(runId: string, taskId: string): readonly JournalStep[] {
    return this.steps.get(`${runId}\u0000${taskId}`) ?? [];
  }
}
