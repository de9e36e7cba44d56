import { hostname } from 'node:os';
import type { NewRun, RunOwnerFilter, RunPatch, RunRecord, RunState } from '../../core/index.js';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';
import type { SqlValue } from './redo-log.js';
import { processAlive } from './process-alive.js';

/** This machine's name, read once: a run records it with every update (a system call each). */
const host = hostname();

export type { RunRecord, RunState } from '../../core/index.js';

interface Row {
  id: string;
  goal: string;
  status: RunState;
  pid: number | null;
  host: string | null;
  created_at: number;
  updated_at: number;
  plan: string | null;
  result: string | null;
  settings: string | null;
}

/** The runs table: one row per run, written when a run starts, plans and ends. */
export class RunRegistry {
  private readonly insert;
  private readonly getStatement;
  private readonly listStatement;
  /** Prepared UPDATEs by the set of columns they write, and owned-run queries by filter (a handful of shapes). */
  private readonly updates = new Map<string, Database.Statement>();
  private readonly batch: WriteBatch;

  constructor(private readonly db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.insert = db.prepare(
      'INSERT INTO runs (id, goal, status, pid, host, created_at, updated_at, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStatement = db.prepare<[string], Row>('SELECT * FROM runs WHERE id = ?');
    this.listStatement = db.prepare<[number], Row>('SELECT * FROM runs ORDER BY created_at DESC LIMIT ?');
  }

  /**
   * Records a new run as `running`, claimed by this process. Joins the write batch: `run()` makes it
   * durable together with the run's first seq reservation, before it returns.
   */
  create(run: NewRun): void {
    const now = Date.now();
    this.batch.run(
      this.insert,
      [run.id, run.goal, 'running', process.pid, host, now, now, run.settings ? JSON.stringify(run.settings) : null],
      run.id,
    );
  }

  /**
   * Updates status and, when given, plan or result; also claims the run for this process. A result
   * (the run ended or waits for approval) is durable at once; the rest rides with the step's batch.
   */
  update(id: string, patch: RunPatch): void {
    const sets = ['updated_at = ?', 'pid = ?', 'host = ?'];
    const values: SqlValue[] = [Date.now(), process.pid, host];
    const add = (column: string, value: SqlValue) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (patch.status) add('status', patch.status);
    if (patch.plan !== undefined) add('plan', JSON.stringify(patch.plan));
    if (patch.result !== undefined) add('result', JSON.stringify(patch.result));
    const sql = `UPDATE runs SET ${sets.join(', ')} WHERE id = ?`;
    let statement = this.updates.get(sql);
    if (!statement) this.updates.set(sql, (statement = this.db.prepare(sql)));
    this.batch.run(statement, [...values, id], id);
    if (patch.result !== undefined) this.batch.durable();
  }

  /** The run's record; a `running` run whose process on this host is gone reads as `interrupted`. */
  get(id: string): RunRecord | undefined {
    const row = this.getStatement.get(id);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Claims for this process the runs left `running` by a process of this host that is gone (those
   * `accept` takes), and returns them as they were (`interrupted`). A claim is a compare-and-set on
   * the dead process's id, so of two processes starting at once only one gets each run.
   */
  claimInterrupted(accept: (record: RunRecord) => boolean = () => true): RunRecord[] {
    // What the dead processes left in their redo logs first: their runs' last steps and states.
    this.batch.recover();
    const rows = this.db
      .prepare<[string], Row>("SELECT * FROM runs WHERE status = 'running' AND host = ? AND pid IS NOT NULL")
      .all(host);
    const claim = this.db.prepare(
      "UPDATE runs SET pid = ?, updated_at = ? WHERE id = ? AND status = 'running' AND pid = ?",
    );
    const claimed: RunRecord[] = [];
    for (const row of rows) {
      const record = toRecord(row);
      if (record.status !== 'interrupted' || !accept(record)) continue;
      this.batch.write(() => {
        if (claim.run(process.pid, Date.now(), row.id, row.pid).changes === 1) claimed.push(record);
      });
    }
    this.batch.commit();
    return claimed;
  }

  /** The newest runs first, at most `limit` (default 50). */
  list(limit = 50): RunRecord[] {
    return this.listStatement.all(limit).map(toRecord);
  }

  /**
   * The newest runs first that `owner.key` (and, when given, `owner.user`) started, created before
   * `before` (ms) when given; at most `limit`. No `key`: every run, filtered by user alone.
   */
  listOwned(filter: RunOwnerFilter): RunRecord[] {
    const where = [
      ...(filter.key !== undefined ? [`json_extract(settings, '$.owner.key') = @key`] : []),
      ...(filter.user !== undefined ? [`json_extract(settings, '$.owner.user') = @user`] : []),
      ...(filter.before !== undefined ? ['created_at < @before'] : []),
    ];
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT @limit`;
    let statement = this.updates.get(sql);
    if (!statement) this.updates.set(sql, (statement = this.db.prepare(sql)));
    const params = Object.fromEntries(
      Object.entries({ ...filter, limit: filter.limit ?? 50 }).filter(([, v]) => v !== undefined),
    );
    return (statement.all(params) as Row[]).map(toRecord);
  }
}

function toRecord(row: Row): RunRecord {
  const dead = row.status === 'running' && row.host === host && row.pid !== null && !processAlive(row.pid);
  return {
    id: row.id,
    goal: row.goal,
    status: dead ? 'interrupted' : row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.plan ? { plan: JSON.parse(row.plan) as unknown } : {}),
    ...(row.result ? { result: JSON.parse(row.result) as unknown } : {}),
    ...(row.settings ? { settings: JSON.parse(row.settings) as Record<string, unknown> } : {}),
  };
}
