import type { Pool } from 'pg';
import {
  redact,
  type JournalStep,
  type StepJournal,
  type ToolCallJournal,
  type ToolCallKey,
  type ToolCallOutcome,
  type ToolCallRecord,
  type ToolCallStart,
} from '../../../core/index.js';
import { stepsByAttempt } from '../sqlite-step-journal.js';
import { toolCallRecord, type ToolCallRow } from '../sqlite-tool-call-journal.js';
import { queryOn as query, type Queryable } from './postgres-pool.js';

/**
 * The StepJournal in PostgreSQL (`cadre_steps`), kept as the SQLite one keeps it: steps stored with
 * secrets redacted, a step written again at its index replacing the one there, a task's steps
 * replayed by index. Each append is one statement, durable once it resolves.
 */
export class PostgresStepJournal implements StepJournal {
  /** `server` names the database in error messages (see `serverName`), never its credentials. */
  constructor(
    private readonly pool: Pool,
    private readonly server: string,
  ) {}

  /** Records a step (redacted), replacing one stored at the same run, task and index; `on` a transaction's client. */
  async append(step: JournalStep, on: Queryable = this.pool): Promise<void> {
    const body = JSON.stringify(redact(step));
    await query(
      on,
      this.server,
      `INSERT INTO cadre_steps (run_id, task_key, idx, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, task_key, idx) DO UPDATE SET body = excluded.body`,
      [step.runId, step.taskId, step.index, body],
    );
  }

  /** The steps of a task attempt in index order; none for an attempt never journaled. */
  async replay(runId: string, taskId: string): Promise<JournalStep[]> {
    const { rows } = await query<{ body: string }>(
      this.pool,
      this.server,
      'SELECT body FROM cadre_steps WHERE run_id = $1 AND task_key = $2 ORDER BY idx',
      [runId, taskId],
    );
    return rows.map((row) => JSON.parse(row.body) as JournalStep);
  }

  /** Every step of a run in one read, grouped by task attempt key, each attempt's steps in index order. */
  async replayRun(runId: string): Promise<Map<string, JournalStep[]>> {
    const { rows } = await query<{ task_key: string; body: string }>(
      this.pool,
      this.server,
      'SELECT task_key, body FROM cadre_steps WHERE run_id = $1 ORDER BY task_key, idx',
      [runId],
    );
    return stepsByAttempt(rows);
  }
}

/**
 * The idempotency journal in PostgreSQL (`cadre_tool_calls`), kept as the SQLite one keeps it:
 * arguments and outcomes stored with secrets redacted; a second `begin` of a call starts its record
 * afresh, and `complete` of a call never begun records nothing. Times are this process's clock.
 */
export class PostgresToolCallJournal implements ToolCallJournal {
  /** `server` names the database in error messages (see `serverName`), never its credentials. */
  constructor(
    private readonly pool: Pool,
    private readonly server: string,
  ) {}

  /** Records that a call is about to run; durable once it resolves (or `on`, a transaction's client, commits). */
  async begin(call: ToolCallStart, on: Queryable = this.pool): Promise<void> {
    const args = JSON.stringify(redact(call.args));
    await query(
      on,
      this.server,
      `INSERT INTO cadre_tool_calls (run_id, task_key, call_id, tool, args, digest, state, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'started', $7)
       ON CONFLICT (run_id, task_key, call_id) DO UPDATE SET tool = excluded.tool, args = excluded.args,
         digest = excluded.digest, state = 'started', outcome = NULL, started_at = excluded.started_at,
         completed_at = NULL`,
      [call.runId, call.taskId, call.callId, call.tool, args, call.digest, Date.now()],
    );
  }

  /** Records how a begun call ended; a call never begun stays unrecorded. `on`: a transaction's client. */
  async complete(key: ToolCallKey, outcome: ToolCallOutcome, on: Queryable = this.pool): Promise<void> {
    await query(
      on,
      this.server,
      `UPDATE cadre_tool_calls SET state = 'completed', outcome = $1, completed_at = $2
       WHERE run_id = $3 AND task_key = $4 AND call_id = $5`,
      [JSON.stringify(redact(outcome)), Date.now(), key.runId, key.taskId, key.callId],
    );
  }

  /** The record of a call, or undefined when it was never begun. */
  async get(key: ToolCallKey): Promise<ToolCallRecord | undefined> {
    const { rows } = await query<ToolCallRow>(
      this.pool,
      this.server,
      'SELECT * FROM cadre_tool_calls WHERE run_id = $1 AND task_key = $2 AND call_id = $3',
      [key.runId, key.taskId, key.callId],
    );
    return rows[0] && toolCallRecord(rows[0]);
  }
}
