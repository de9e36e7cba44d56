import type { SqliteDatabase } from './database.js';

const batches = new WeakMap<SqliteDatabase, WriteBatch>();

/**
 * Groups the store's small writes (events, journal steps) into one transaction, so a step costs one
 * commit instead of one per row. What must survive a kill -9 at once commits at a durability point
 * (`commit()`: a model reply journaled, a tool call with effects about to run, a task's outcome);
 * everything else commits with it, or at the latest when the event loop next turns.
 */
export class WriteBatch {
  private open = false;
  private timer: NodeJS.Immediate | undefined;

  private constructor(private readonly db: SqliteDatabase) {}

  /**
   * The one batch of a connection. Shared, because a durability point must commit every write made
   * on that connection, whichever journal or log made it.
   */
  static of(db: SqliteDatabase): WriteBatch {
    let batch = batches.get(db);
    if (!batch) batches.set(db, (batch = new WriteBatch(db)));
    return batch;
  }

  /** Runs `write` inside the batch's transaction, opening one when none is. */
  write(write: () => void): void {
    // Someone else's transaction (better-sqlite3's `transaction()`) is open: the write joins it.
    if (!this.open && this.db.inTransaction) return write();
    if (!this.open) {
      this.db.exec('BEGIN IMMEDIATE');
      this.open = true;
      this.timer = setImmediate(() => this.commit());
    }
    try {
      write();
    } catch (error) {
      // A failed statement leaves the transaction usable; what was batched before it still commits.
      this.commit();
      throw error;
    }
  }

  /** Commits what is batched; a no-op when nothing is. */
  commit(): void {
    if (!this.open) return;
    clearImmediate(this.timer);
    this.open = false;
    if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
  }
}
