import type { RevisionRecord, TaskOutcome } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

// Moved to core, where every store kind can name it; kept here for the imports that use this path.
export type { RevisionRecord } from '../../core/index.js';

// Revisions share the table under a task id no task can have (task ids are checked by the planner).
const revisionKey = '#revision';

/**
 * Task outcomes, committed before `task.completed` is emitted. LangGraph checkpoints a task's
 * result just after its body returns; a process killed in between would otherwise run the task
 * again on resume. Keyed by the task's first attempt number, which is unique across plan revisions.
 */
export class TaskOutcomeLog {
  private readonly insert;
  private readonly select;
  private readonly latest;
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO task_outcomes (run_id, task_id, first_attempt, body) VALUES (?, ?, ?, ?)',
    );
    this.select = db.prepare<[string, string, number], { body: string }>(
      'SELECT body FROM task_outcomes WHERE run_id = ? AND task_id = ? AND first_attempt = ?',
    );
    this.latest = db.prepare<[string, string], { body: string; first_attempt: number }>(
      'SELECT body, first_attempt FROM task_outcomes WHERE run_id = ? AND task_id = ? ORDER BY first_attempt DESC LIMIT 1',
    );
  }

  /** Records a task's outcome under its first attempt, durable before this returns. */
  put(runId: string, firstAttempt: number, outcome: TaskOutcome): void {
    this.batch.run(this.insert, [runId, outcome.taskId, firstAttempt, JSON.stringify(outcome)], runId, 3);
    this.batch.durable();
  }

  /** The outcome recorded for a task's first attempt, if any. */
  get(runId: string, taskId: string, firstAttempt: number): TaskOutcome | undefined {
    const row = this.select.get(runId, taskId, firstAttempt);
    return row ? (JSON.parse(row.body) as TaskOutcome) : undefined;
  }

  /** Keeps the plan a run without a workflow works on, by revision, so a resume continues from it. */
  putRevision(runId: string, revision: number, state: RevisionRecord): void {
    // Batched: a revision lost to a crash is made again (the plan step is repeated, nothing else).
    this.batch.run(this.insert, [runId, revisionKey, revision, JSON.stringify(state)], runId, 3);
  }

  /** The latest revision kept by `putRevision`, if any. */
  lastRevision(runId: string): (RevisionRecord & { revision: number }) | undefined {
    const row = this.latest.get(runId, revisionKey);
    return row ? { ...(JSON.parse(row.body) as RevisionRecord), revision: row.first_attempt } : undefined;
  }
}
