import type { TaskOutcome } from '../task-outcome.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/**
 * Task outcomes, committed before `task.completed` is emitted. LangGraph checkpoints a task's
 * result just after its body returns; a process killed in between would otherwise run the task
 * again on resume. Keyed by the task's first attempt number, which is unique across plan revisions.
 */
export class TaskOutcomeLog {
  private readonly insert;
  private readonly select;

  constructor(
    db: SqliteDatabase,
    private readonly batch = new WriteBatch(db),
  ) {
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO task_outcomes (run_id, task_id, first_attempt, body) VALUES (?, ?, ?, ?)',
    );
    this.select = db.prepare<[string, string, number], { body: string }>(
      'SELECT body FROM task_outcomes WHERE run_id = ? AND task_id = ? AND first_attempt = ?',
    );
  }

  put(runId: string, firstAttempt: number, outcome: TaskOutcome): void {
    this.batch.write(() => this.insert.run(runId, outcome.taskId, firstAttempt, JSON.stringify(outcome)));
    this.batch.commit();
  }

  get(runId: string, taskId: string, firstAttempt: number): TaskOutcome | undefined {
    const row = this.select.get(runId, taskId, firstAttempt);
    return row ? (JSON.parse(row.body) as TaskOutcome) : undefined;
  }
}
