import { redact, type JournalStep, type StepJournal } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/**
 * The StepJournal in SQLite. A step joins the connection's write batch; the `model.response` event
 * that follows a model step makes both durable before the agent acts on the reply, so a crash loses no
 * reply. Steps are stored with secrets redacted (model text, tool arguments and output alike). Their
 * inserts are held until the batch commits (`WriteBatch.queue`); every read here flushes them first.
 */
export class SqliteStepJournal implements StepJournal {
  private readonly insert;
  private readonly select;
  private readonly selectRun;
  private readonly batch: WriteBatch;
  /** Runs that began in this process: the steps appended for each, by attempt key and index. */
  private readonly kept = new Map<string, Map<string, JournalStep[]>>();

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
    const stored = redact(step);
    const body = JSON.stringify(stored);
    this.batch.queue(this.insert, [step.runId, step.taskId, step.index, body], step.runId, 3);
    const run = this.kept.get(step.runId);
    if (run) {
      const steps = run.get(step.taskId) ?? [];
      if (steps.length === 0) run.set(step.taskId, steps);
      // The redacted copy that was stored; a step written again at its index replaces the one there.
      steps[step.index] = stored;
    }
  }

  /**
   * Keeps in memory the steps this process appends for `runId` from now on, for a run that begins
   * here: its trace is then {@link takeKept} rather than read back. Nothing else may have journaled it.
   */
  keep(runId: string): void {
    this.kept.set(runId, new Map());
  }

  /** The steps kept for `runId` since {@link keep}, as {@link replayRun} gives them; forgets them. */
  takeKept(runId: string): Map<string, JournalStep[]> | undefined {
    const run = this.kept.get(runId);
    if (!run) return undefined;
    this.kept.delete(runId);
    const byAttempt = new Map<string, JournalStep[]>();
    for (const key of [...run.keys()].sort()) byAttempt.set(key, run.get(key)!.filter(Boolean));
    return byAttempt;
  }

  replay(runId: string, taskId: string): JournalStep[] {
    // A run that began here has its steps in memory as they were stored: no read needed.
    const kept = this.kept.get(runId);
    if (kept) return (kept.get(taskId) ?? []).filter(Boolean);
    this.batch.flush();
    return this.select.all(runId, taskId).map((row) => JSON.parse(row.body) as JournalStep);
  }

  replayRun(runId: string): Map<string, JournalStep[]> {
    this.batch.flush();
    return stepsByAttempt(this.selectRun.all(runId));
  }
}

/** Stored step rows (in attempt key, then index order) as each attempt's steps: what `replayRun` gives. */
export function stepsByAttempt(rows: Iterable<{ task_key: string; body: string }>): Map<string, JournalStep[]> {
  const byAttempt = new Map<string, JournalStep[]>();
  for (const row of rows) {
    const steps = byAttempt.get(row.task_key);
    const step = JSON.parse(row.body) as JournalStep;
    if (steps) steps.push(step);
    else byAttempt.set(row.task_key, [step]);
  }
  return byAttempt;
}
