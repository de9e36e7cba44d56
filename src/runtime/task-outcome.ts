import type { ErrorInfo, Usage } from '../core/index.js';

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
