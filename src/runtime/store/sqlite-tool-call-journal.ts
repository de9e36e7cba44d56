import {
  redact,
  type ToolCallJournal,
  type ToolCallKey,
  type ToolCallOutcome,
  type ToolCallRecord,
  type ToolCallStart,
} from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/** A stored tool call, as SQLite and PostgreSQL give it back (PostgreSQL's bigint times as strings). */
export interface ToolCallRow {
  run_id: string;
  task_key: string;
  call_id: string;
  tool: string;
  args: string;
  digest: string | null;
  state: 'started' | 'completed';
  outcome: string | null;
  started_at: number | string;
  completed_at: number | string | null;
}

/**
 * The idempotency journal in SQLite: `begin` is durable before the tool runs, `complete` after.
 * Arguments and outcomes are stored with secrets redacted; a call is matched by its digest.
 */
export class SqliteToolCallJournal implements ToolCallJournal {
  private readonly beginStatement;
  private readonly completeStatement;
  private readonly getStatement;
  private readonly forRunStatement;
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.beginStatement = db.prepare(
      `INSERT OR REPLACE INTO tool_calls (run_id, task_key, call_id, tool, args, digest, state, started_at) VALUES (?, ?, ?, ?, ?, ?, 'started', ?)`,
    );
    this.completeStatement = db.prepare(
      `UPDATE tool_calls SET state = 'completed', outcome = ?, completed_at = ? WHERE run_id = ? AND task_key = ? AND call_id = ?`,
    );
    this.getStatement = db.prepare<[string, string, string], ToolCallRow>(
      'SELECT * FROM tool_calls WHERE run_id = ? AND task_key = ? AND call_id = ?',
    );
    this.forRunStatement = db.prepare<[string], ToolCallRow>(
      'SELECT * FROM tool_calls WHERE run_id = ? ORDER BY started_at',
    );
  }

  begin(call: ToolCallStart): void {
    // Durable before the tool runs, with whatever the step batched: the durability point of a call.
    this.batch.run(
      this.beginStatement,
      [call.runId, call.taskId, call.callId, call.tool, JSON.stringify(redact(call.args)), call.digest, Date.now()],
      call.runId,
    );
    this.batch.durable();
  }

  complete(key: ToolCallKey, outcome: ToolCallOutcome): void {
    this.batch.run(
      this.completeStatement,
      [JSON.stringify(redact(outcome)), Date.now(), key.runId, key.taskId, key.callId],
      key.runId,
    );
    this.batch.durable();
  }

  get(key: ToolCallKey): ToolCallRecord | undefined {
    const row = this.getStatement.get(key.runId, key.taskId, key.callId);
    return row ? toolCallRecord(row) : undefined;
  }

  /** Every journaled call of a run, oldest first: for `cadre runs` and audits. */
  forRun(runId: string): ToolCallRecord[] {
    return this.forRunStatement.all(runId).map(toolCallRecord);
  }
}

/** A stored tool call as the journal's record. */
export function toolCallRecord(row: ToolCallRow): ToolCallRecord {
  return {
    runId: row.run_id,
    taskId: row.task_key,
    callId: row.call_id,
    tool: row.tool,
    args: JSON.parse(row.args) as Record<string, unknown>,
    state: row.state,
    startedAt: Number(row.started_at),
    ...(row.digest !== null ? { digest: row.digest } : {}),
    ...(row.outcome !== null ? { outcome: JSON.parse(row.outcome) as ToolCallOutcome } : {}),
    ...(row.completed_at !== null ? { completedAt: Number(row.completed_at) } : {}),
  };
}
