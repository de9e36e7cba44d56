import type { Pool, QueryResultRow } from 'pg';
import type { RevisionRecord, TaskOutcome, TaskOutcomeStore } from '../../../core/index.js';
import { queryOn, type Queryable } from './postgres-pool.js';

// Revisions share the table under a task id no task can have, as in the SQLite store.
const revisionKey = '#revision';

/**
 * Task outcomes and plan revisions in PostgreSQL (`cadre_task_outcomes`), kept as the SQLite
 * TaskOutcomeLog keeps them: an outcome by run, task and first attempt, a revision by run and
 * number, each replacing one stored under the same key. Each write is one statement, durable once
 * it resolves.
 */
export class PostgresTaskOutcomeStore implements TaskOutcomeStore {
  /** `server` names the database in error messages (see `serverName`), never its credentials. */
  constructor(
    private readonly pool: Pool,
    private readonly server: string,
  ) {}

  /** Records a task's outcome under its first attempt, replacing one recorded there; `on`: a transaction's client. */
  async put(runId: string, firstAttempt: number, outcome: TaskOutcome, on: Queryable = this.pool): Promise<void> {
    await this.write(on, [runId, outcome.taskId, firstAttempt, JSON.stringify(outcome)]);
  }

  /** The outcome recorded for a task's first attempt, if any. */
  async get(runId: string, taskId: string, firstAttempt: number): Promise<TaskOutcome | undefined> {
    const { rows } = await this.query<{ body: string }>(
      'SELECT body FROM cadre_task_outcomes WHERE run_id = $1 AND task_id = $2 AND first_attempt = $3',
      [runId, taskId, firstAttempt],
    );
    return rows[0] && (JSON.parse(rows[0].body) as TaskOutcome);
  }

  /** Keeps the plan a run without a workflow works on, by revision, replacing one kept there; `on`: a transaction's client. */
  async putRevision(runId: string, revision: number, state: RevisionRecord, on: Queryable = this.pool): Promise<void> {
    await this.write(on, [runId, revisionKey, revision, JSON.stringify(state)]);
  }

  /** The run's highest revision kept by `putRevision`, if any. */
  async lastRevision(runId: string): Promise<(RevisionRecord & { revision: number }) | undefined> {
    const { rows } = await this.query<{ body: string; first_attempt: number }>(
      `SELECT body, first_attempt FROM cadre_task_outcomes WHERE run_id = $1 AND task_id = $2
       ORDER BY first_attempt DESC LIMIT 1`,
      [runId, revisionKey],
    );
    return rows[0] && { ...(JSON.parse(rows[0].body) as RevisionRecord), revision: rows[0].first_attempt };
  }

  /** Stores [run id, task id, first attempt, body], replacing a row with the same key. */
  private async write(on: Queryable, row: [string, string, number, string]): Promise<void> {
    await queryOn(
      on,
      this.server,
      `INSERT INTO cadre_task_outcomes (run_id, task_id, first_attempt, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, task_id, first_attempt) DO UPDATE SET body = excluded.body`,
      row,
    );
  }

  private query<R extends QueryResultRow>(sql: string, values: unknown[]) {
    return queryOn<R>(this.pool, this.server, sql, values);
  }
}
