import type { CadreEvent, EventLog } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/**
 * A run's events in SQLite, keyed by (run, seq), so `cadre events <run> --from <seq>` can replay them.
 * Events are batched with the step's other writes; a `model.response` makes the batch durable before
 * any listener sees it, since resumed runs restore their spend from those events. Their inserts are
 * held until the batch commits (`WriteBatch.queue`); every read here flushes them first.
 */
export class SqliteEventLog implements EventLog {
  private readonly insert;
  private readonly select;
  private readonly last;
  private readonly reserveStatement;
  private readonly reservedStatement;
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
    this.insert = db.prepare('INSERT OR REPLACE INTO events (run_id, seq, type, ts, body) VALUES (?, ?, ?, ?, ?)');
    this.select = db.prepare<[string, number], { body: string }>(
      'SELECT body FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq',
    );
    this.last = db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events WHERE run_id = ?');
    this.reserveStatement = db.prepare(
      'INSERT INTO event_seq (run_id, reserved) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET reserved = MAX(reserved, excluded.reserved)',
    );
    this.reservedStatement = db.prepare<[string], { reserved: number }>(
      'SELECT reserved FROM event_seq WHERE run_id = ?',
    );
  }

  append(event: CadreEvent): void {
    this.batch.queue(
      this.insert,
      [event.runId, event.seq, event.type, event.ts, JSON.stringify(event)],
      event.runId,
      4,
    );
    if (event.type === 'model.response') this.batch.durable();
  }

  read(runId: string, fromSeq = 1): CadreEvent[] {
    this.batch.flush();
    return this.select.all(runId, fromSeq).map((row) => JSON.parse(row.body) as CadreEvent);
  }

  lastSeq(runId: string): number {
    this.batch.flush();
    return this.last.get(runId)?.seq ?? 0;
  }

  /** Durable at once: events up to `upTo` may be emitted before their batch is. */
  reserve(runId: string, upTo: number): void {
    this.batch.run(this.reserveStatement, [runId, upTo], runId);
    this.batch.durable();
  }

  /** The seq a resumed run's next event takes: after every stored or reserved one. */
  nextSeq(runId: string): number {
    return Math.max(this.lastSeq(runId), this.reservedStatement.get(runId)?.reserved ?? 0) + 1;
  }
}
