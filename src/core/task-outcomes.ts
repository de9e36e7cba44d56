import type { ErrorInfo } from './events.js';
import type { Usage } from './usage.js';

/**
 * What became of one task: plain JSON, because it is the task's checkpointed result — a resumed
 * run reads it back instead of running the task again.
 */
export interface TaskOutcome {
  taskId: string;
  title: string;
  role: string;
  status: 'completed' | 'failed' | 'skipped';
  answer: string | null;
  /** The answer parsed and checked against the task's expected output schema, when it has one. */
  output?: unknown;
  error?: ErrorInfo;
  /** Attempts made; 0 when skipped. */
  attempts: number;
  steps: number;
  usage: Usage;
  costUsd: number;
  model?: string;
  durationMs: number;
  /** The plan revision the task belonged to; 0 for the first plan. */
  revision: number;
  /** Tool calls of the answering attempt that ended in an error; absent when none did. */
  toolErrors?: number;
}

/**
 * A plan revision of a run carried out without a workflow: the plan, the attempts made at each task
 * before it, and the first attempt of each task completed before it (whose outcome is kept here).
 */
export interface RevisionRecord {
  graph: unknown;
  attempts?: Record<string, number>;
  completed?: Record<string, number>;
  /** Kept by single-agent runs before plans had many tasks: their one task's first attempt. */
  firstAttempt?: number;
}

/** A store's task outcomes and plan revisions (runs carried out without a workflow), asynchronous. */
export interface TaskOutcomeStore {
  /**
   * Records a task's outcome under its run, its task id and its first attempt (unique across plan
   * revisions), replacing one recorded under the same key; durable once it resolves.
   */
  put(runId: string, firstAttempt: number, outcome: TaskOutcome): Promise<void>;
  /** The outcome recorded for a task's first attempt, exactly as put; undefined when none was. */
  get(runId: string, taskId: string, firstAttempt: number): Promise<TaskOutcome | undefined>;
  /**
   * Keeps the plan a run without a workflow works on, by revision, so that a resume continues from
   * it; a revision kept again replaces the one kept before. Revisions are no task's outcome.
   */
  putRevision(runId: string, revision: number, state: RevisionRecord): Promise<void>;
  /** The run's highest revision kept by `putRevision`, whatever the order they were kept in; undefined when none was. */
  lastRevision(runId: string): Promise<(RevisionRecord & { revision: number }) | undefined>;
}
