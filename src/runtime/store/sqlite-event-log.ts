import type { CadreEvent, EventLog } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';

/** A run's events in SQLite, keyed by (run, seq), so `cadre events <run> --from <seq>` can replay them. */
export class SqliteEventLog implements EventLog {
  private readonly insert;
  private readonly select;
  private readonly last;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT OR REPLACE INTO events (run_id, seq, type, ts, body) VALUES (?, ?, ?, ?, ?)');
    this.select = db.prepare<[string, number], { body: string }>('SELECT body FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq');
    this.last = db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events WHERE run_id = ?');
  }

  append(event: CadreEvent): void {
    this.insert.run(event.runId, event.seq, event.type, event.ts, JSON.stringify(event));
  }

  read(runId: string, fromSeq = 1): CadreEvent[] {
    return this.select.all(runId, fromSeq).map((row) => JSON.parse(row.body) as CadreEvent);
  }

  lastSeq(runId: string): number {
    return this.last.get(runId)?.seq ?? 0;
  }
}
