import type { CadreError } from '../../core/index.js';
import type { SqliteDatabase } from './database.js';
import { WriteBatch } from './write-batch.js';

/**
 * Fencing tokens for runs held under a lease (jobs): a worker takes the run's fence with its lease's
 * epoch, then holds it; from then on every write of the run in this process (events, journals, task
 * outcomes, the run record) is refused with `lease_lost` once a newer lease took the fence.
 */
export class RunFences {
  private readonly batch: WriteBatch;

  constructor(db: SqliteDatabase) {
    this.batch = WriteBatch.of(db);
  }

  /** Records `epoch` as the run's fence, committed; false when a newer (or the same) epoch holds it already. */
  take(runId: string, epoch: number): boolean {
    return this.batch.takeFence(runId, epoch);
  }

  /** Fences this process's writes of the run with `epoch`; `onLost` is called once when a write is refused. */
  hold(runId: string, epoch: number, onLost: (error: CadreError) => void): void {
    this.batch.fence(runId, epoch, onLost);
  }

  /** Stops fencing the run's writes in this process. */
  release(runId: string): void {
    this.batch.unfence(runId);
  }
}
