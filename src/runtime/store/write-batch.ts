import { CadreError } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';

const batches = new WeakMap<SqliteDatabase, WriteBatch>();

/** A run held under a lease in this process: its writes must carry the lease's epoch. */
interface Fence {
  epoch: number;
  onLost: (error: CadreError) => void;
  lost?: CadreError;
}

/**
 * Groups the store's small writes (events, journal steps) into one transaction, so a step costs one
 * commit instead of one per row. What must survive a kill -9 at once commits at a durability point
 * (`commit()`: a model reply journaled, a tool call with effects about to run, a task's outcome);
 * everything else commits with it, or at the latest when the event loop next turns.
 *
 * It is also where leases are fenced: a run a worker holds under a lease ({@link WriteBatch.fence})
 * writes only while `run_fences` still holds that lease's epoch. The check is made once per run and
 * transaction, inside the transaction's write lock, so no other process can take the lease between
 * the check and the commit; a worker that lost its lease is refused at its next write.
 */
export class WriteBatch {
  private open = false;
  private timer: NodeJS.Immediate | undefined;
  private readonly fences = new Map<string, Fence>();
  /** Fenced runs checked in the open transaction. */
  private readonly checked = new Set<string>();
  private readonly fenceOf;

  private constructor(private readonly db: SqliteDatabase) {
    this.fenceOf = db.prepare<[string], { epoch: number }>('SELECT epoch FROM run_fences WHERE run_id = ?');
  }

  /**
   * The one batch of a connection. Shared, because a durability point must commit every write made
   * on that connection, whichever journal or log made it.
   */
  static of(db: SqliteDatabase): WriteBatch {
    let batch = batches.get(db);
    if (!batch) batches.set(db, (batch = new WriteBatch(db)));
    return batch;
  }

  /**
   * Runs `write` inside the batch's transaction, opening one when none is. `runId` names the run the
   * write belongs to: a fenced run's write is refused with `lease_lost` once its lease has moved on.
   */
  write(write: () => void, runId?: string): void {
    // Someone else's transaction (better-sqlite3's `transaction()`) is open: the write joins it.
    if (!this.open && this.db.inTransaction) {
      if (runId !== undefined) this.checkFence(runId, false);
      return write();
    }
    if (!this.open) {
      this.db.exec('BEGIN IMMEDIATE');
      this.open = true;
      this.checked.clear();
      this.timer = setImmediate(() => this.commit());
    }
    try {
      if (runId !== undefined) this.checkFence(runId, true);
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

  /**
   * From now on the run's writes in this process need `run_fences` to hold `epoch` (the caller has
   * taken it with {@link takeFence}); `onLost` is called once when a write finds it gone.
   */
  fence(runId: string, epoch: number, onLost: (error: CadreError) => void): void {
    this.fences.set(runId, { epoch, onLost });
  }

  /** Ends the fence of a run this process no longer holds (the job ended or was handed back). */
  unfence(runId: string): void {
    this.fences.delete(runId);
    this.checked.delete(runId);
  }

  /**
   * Takes the run's fence for a newly granted lease: succeeds only when `epoch` is above the one
   * recorded, so an older lease can never take it back. Committed at once.
   */
  takeFence(runId: string, epoch: number): boolean {
    let taken = false;
    this.write(() => {
      taken =
        this.db
          .prepare(
            'INSERT INTO run_fences (run_id, epoch) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch WHERE excluded.epoch > run_fences.epoch',
          )
          .run(runId, epoch).changes === 1;
    });
    this.commit();
    return taken;
  }

  private checkFence(runId: string, remember: boolean): void {
    const fence = this.fences.get(runId);
    if (!fence || this.checked.has(runId)) return;
    if (fence.lost) throw fence.lost;
    const held = this.fenceOf.get(runId)?.epoch;
    if (held !== fence.epoch) {
      fence.lost = new CadreError(
        'lease_lost',
        `Run ${runId} is now held by a newer lease (epoch ${held ?? 'none'}, this worker's ${fence.epoch}); this worker stops it`,
        { details: { runId, epoch: fence.epoch, current: held ?? null } },
      );
      fence.onLost(fence.lost);
      throw fence.lost;
    }
    if (remember) this.checked.add(runId);
  }
}
