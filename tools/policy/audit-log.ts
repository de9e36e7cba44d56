import type Database from 'better-sqlite3';
import { redact } from '../../src/core/index.js';
import { applyHeldWrites } from '../../src/core/held-writes.js';

/** What became of a call: it ran, or which check stopped it. */
export type AuditDecision = 'allowed' | 'denied' | 'approval_denied' | 'quarantined' | 'rate_limited';

/** One tool call as the audit log records it. */
export interface AuditEntry {
  runId: string;
  taskId: string;
  agent?: string;
  tool: string;
  args: Record<string, unknown>;
  decision: AuditDecision;
  durationMs?: number;
  resultSize?: number;
  error?: string;
}

/** An audit entry as stored: numbered, timed, its arguments redacted. */
export interface AuditRecord extends Omit<AuditEntry, 'args'> {
  id: number;
  /** When it was recorded, in ms since the epoch. */
  at: number;
  /** The arguments after redaction; the originals are never stored. */
  args: Record<string, unknown>;
}

/** Which audit records to read: by run, tool or decision, newest first. */
export interface AuditQuery {
  runId?: string;
  tool?: string;
  decision?: AuditDecision;
  /** Newest first; default 100. */
  limit?: number;
}

/** An audit row as stored (PostgreSQL gives its bigint columns as strings). */
export interface AuditRow {
  id: number | string;
  at: number | string;
  run_id: string;
  task_id: string;
  agent: string | null;
  tool: string;
  args_redacted: string;
  decision: AuditDecision;
  duration_ms: number | null;
  result_size: number | null;
  error: string | null;
}

/** Where tool calls are recorded as they are decided: the audit log of the run's store. */
export interface AuditSink {
  /** Records one call (arguments and error text redacted before they are stored). */
  record(entry: AuditEntry): void;
}

/**
 * One audit row as both stores keep it, redacted: at, run, task, agent, tool, arguments (JSON),
 * decision, duration, result size, error.
 */
export function auditRow(entry: AuditEntry, at: number): (string | number | null)[] {
  return [
    at,
    entry.runId,
    entry.taskId,
    entry.agent ?? null,
    entry.tool,
    JSON.stringify(redact(entry.args)),
    entry.decision,
    entry.durationMs ?? null,
    entry.resultSize ?? null,
    entry.error === undefined ? null : redact(entry.error),
  ];
}

/** A stored audit row's columns as {@link AuditRecord} gives them. */
export function auditRecordOf(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    at: Number(row.at),
    runId: row.run_id,
    taskId: row.task_id,
    tool: row.tool,
    decision: row.decision,
    args: JSON.parse(row.args_redacted) as Record<string, unknown>,
    ...(row.agent !== null ? { agent: row.agent } : {}),
    ...(row.duration_ms !== null ? { durationMs: row.duration_ms } : {}),
    ...(row.result_size !== null ? { resultSize: row.result_size } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

/**
 * How a record's row is written: by default at once; the runtime passes its write batch, so a call's
 * audit row becomes durable with the step that made the call. `json` is the index of the value that
 * holds JSON text (the arguments); bit i of `nullable` is set when value i may be null.
 */
export type AuditWrite = (
  statement: Database.Statement,
  params: (string | number | null)[],
  json: number,
  nullable: number,
) => void;

/** Which of {@link auditRow}'s values is JSON text: the redacted arguments. */
const argsIndex = 5;
/** Which of {@link auditRow}'s values may be null: agent, duration, result size, error. */
const nullableValues = (1 << 3) | (1 << 7) | (1 << 8) | (1 << 9);

/** Who called which tool with what, and what policy decided: an append-only record in SQLite. */
export class AuditLog {
  private readonly insert;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
    private readonly write: AuditWrite = (statement, params) => statement.run(...params),
  ) {
    // Append-only, so a plain rowid never repeats an id; AUTOINCREMENT would cost one more page
    // written (sqlite_sequence) with every tool call. Databases made before keep their definition.
    db.exec(`CREATE TABLE IF NOT EXISTS tool_audit (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL, agent TEXT,
      tool TEXT NOT NULL, args_redacted TEXT NOT NULL, decision TEXT NOT NULL, duration_ms REAL, result_size INTEGER, error TEXT
    )`);
    db.exec('CREATE INDEX IF NOT EXISTS tool_audit_run ON tool_audit (run_id, id)');
    this.insert = db.prepare(
      'INSERT INTO tool_audit (at, run_id, task_id, agent, tool, args_redacted, decision, duration_ms, result_size, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Records one call; arguments and error text are redacted before they touch the disk. */
  record(entry: AuditEntry): void {
    this.write(this.insert, auditRow(entry, this.now()), argsIndex, nullableValues);
  }

  /** Matching records, newest first. */
  list(query: AuditQuery = {}): AuditRecord[] {
    // Rows the runtime's store holds for its next commit are applied first.
    applyHeldWrites(this.db);
    const filters = [
      ['run_id', query.runId],
      ['tool', query.tool],
      ['decision', query.decision],
    ].filter(([, v]) => v !== undefined);
    const where = filters.map(([column]) => `${column} = ?`);
    const params = filters.map(([, value]) => value);
    const sql = `SELECT * FROM tool_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, query.limit ?? 100) as AuditRow[]).map(auditRecordOf);
  }
}
