import { redact, type JournalStep, type StepJournal } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';

/**
 * The StepJournal in SQLite: each step is committed before the agent goes on, so a crash loses none.
 * Steps are stored with secrets redacted (model text, tool arguments and output alike).
 */
export class SqliteStepJournal implements StepJournal {
  private readonly insert;
  private readonly select;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT OR REPLACE INTO steps (run_id, task_key, idx, body) VALUES (?, ?, ?, ?)');
    this.select = db.prepare<[string, string], { body: string }>('SELECT body FROM steps WHERE run_id = ? AND task_key = ? ORDER BY idx');
  }

  append(step: JournalStep): void {
    this.insert.run(step.runId, step.taskId, step.index, JSON.stringify(redact(step)));
  }

  replay(runId: string, taskId: string): JournalStep[] {
    return this.select.all(runId, taskId).map((row) => JSON.parse(row.body) as JournalStep);
  }
}
