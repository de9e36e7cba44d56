import { redact, type JournalStep, type StepJournal } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/**
 * The StepJournal in SQLite. A step joins the connection's write batch; the `model.response` event
 * that follows a model step makes both durable before the agent acts on the reply, so a crash loses no
 * reply. Steps are stored with secrets redacted (model text, tool arguments and output alike).
 */
export class SqliteStepJournal implements StepJournal {
  private readonly insert;
  private readonly select;
  private readonly selectRun;
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.insert = db.prepare('INSERT OR REPLACE INTO steps (run_id, task_key, idx, body) VALUES (?, ?, ?, ?)');
    this.select = db.prepare<[string, string], { body: string }>(
      'SELECT body FROM steps WHERE run_id = ? AND task_key = ? ORDER BY idx',
    );
    this.selectRun = db.prepare<[string], { task_key: string; body: string }>(
      'SELECT task_key, body FROM steps WHERE run_id = ? ORDER BY task_key, idx',
    );
  }

  append(step: JournalStep): void {
    const body = JSON.stringify(redact(step));
    this.batch.run(this.insert, [step.runId, step.taskId, step.index, body], step.runId);
  }

  replay(runId: string, taskId: string): JournalStep[] {
    return this.select.all(runId, taskId).map((row) => JSON.parse(row.body) as JournalStep);
  }

  replayRun(runId: string): Map<string, JournalStep[]> {
    const byAttempt = new Map<string, JournalStep[]>();
    for (const row of this.selectRun.all(runId)) {
      const steps = byAttempt.get(row.task_key);
      const step = JSON.parse(row.body) as JournalStep;
      if (steps) steps.push(step);
      else byAttempt.set(row.task_key, [step]);
    }
    return byAttempt;
  }
}
