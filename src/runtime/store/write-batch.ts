import type Database from 'better-sqlite3';
import { CadreError } from '../../core/index.js';
import { holdWrites } from '../../core/held-writes.js';
import type { SqliteDatabase } from './database.js';
import { markAppliedSql, recoverRedoLogs, RedoLog, type LoggedWrite, type SqlValue } from './redo-log.js';

const batches = new WeakMap<SqliteDatabase, WriteBatch>();

/** A run held under a lease in this process: its writes must carry the lease's epoch. */
interface Fence {
  epoch: number;
  onLost: (error: CadreError) => void;
  lost?: CadreError;
}

/** Past this many frames in one transaction SQLite commits, so a dead process's log stays short. */
const framesPerCommit = 100;

/**
 * Groups the store's small writes (events, journal steps) into one transaction, committed when the
 * event loop next turns. Writes that only their own store reads back (events, journal steps and
 * tool audit rows, {@link WriteBatch.queue}) are held until that commit, or until one of those
 * stores reads: a step's path pays for its frame in the redo log, and SQLite's inserts run when the
 * event loop turns, which in a real run is while the next model call is in flight. What must
 * survive a kill -9 at once is made durable at a durability point
 * (`durable()`: a model reply journaled, a tool call with effects about to run, a task's outcome):
 * with a redo log (file databases, the default durability) the writes logged since the last point
 * are appended to it in one `write()`; otherwise, or when the transaction holds writes the log did
 * not see (made by another part of cadre on this connection), SQLite commits. `commit()` commits
 * at once, for writes other processes must see now (a lease's fence, a claim).
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
  /** How durability points are kept: a redo log, a commit each, or nothing (an in-memory database). */
  private mode: 'commit' | 'none' | { log: RedoLog; markApplied: Database.Statement } = 'commit';
  /** Logged writes since the last durability point, and row changes the log accounts for. */
  private pending: LoggedWrite[] = [];
  private expectedChanges = 0;
  private framesInTransaction = 0;
  /** Writes held until the commit or a read ({@link queue}): statements and their parameters, in order. */
  private queuedStatements: Database.Statement[] = [];
  private queuedParams: SqlValue[][] = [];
  private readonly totalChanges;

  private constructor(private readonly db: SqliteDatabase) {
    this.fenceOf = db.prepare<[string], { epoch: number }>('SELECT epoch FROM run_fences WHERE run_id = ?');
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
    holdWrites(db, () => this.flush());
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
  write<T>(write: () => T, runId?: string): T {
    // Someone else's transaction (better-sqlite3's `transaction()`) is open: the write joins it.
    if (!this.open && this.db.inTransaction) {
      if (runId !== undefined) this.checkFence(runId, false);
      return write();
    }
    if (!this.open) this.begin();
    try {
      if (runId !== undefined) this.checkFence(runId, true);
      return write();
    } catch (error) {
      // A failed statement leaves the transaction usable; what was batched before it still commits.
      this.commit();
      throw error;
    }
  }

  /**
   * Runs a prepared write in the batch, like {@link write}, and keeps it for the redo log, so the
   * next durability point makes it durable without a commit. Its parameters must be JSON values;
   * `json` names the one that holds JSON text (an event, a journal step), kept in the log as it is.
   */
  run(statement: Database.Statement, params: SqlValue[], runId?: string, json = -1): Database.RunResult {
    const joined = !this.open && this.db.inTransaction;
    const result = this.write(() => statement.run(...params), runId);
    if (!joined && this.mode !== 'commit') {
      if (typeof this.mode === 'object') this.pending.push({ sql: statement.source, params, json });
      this.expectedChanges += result.changes;
    }
    return result;
  }

  /**
   * Like {@link run}, for a write that nothing reads before the transaction commits except through
   * {@link flush}: it is in the next durability point's frame (and fenced) now, and runs in SQLite
   * when the batch commits or a reader flushes (the tables' readers call `applyHeldWrites(db)` first).
   * A held write must not fail later: one with a parameter other than a string, a number or, where
   * bit i of `nullable` allows it, null runs at once, as with {@link run}, so its error is thrown here.
   */
  queue(statement: Database.Statement, params: SqlValue[], runId?: string, json = -1, nullable = 0): void {
    let held = this.open || !this.db.inTransaction;
    for (let i = 0; held && i < params.length; i++) {
      const param = params[i];
      held = typeof param === 'string' || typeof param === 'number' || (param === null && ((nullable >> i) & 1) === 1);
    }
    if (!held) {
      this.run(statement, params, runId, json);
      return;
    }
    this.write(() => {
      this.queuedStatements.push(statement);
      this.queuedParams.push(params);
    }, runId);
    if (typeof this.mode === 'object') this.pending.push({ sql: statement.source, params, json });
  }

  /** Runs the writes {@link queue} holds, in order, in the open transaction: before a read of their tables. */
  flush(): void {
    const statements = this.queuedStatements;
    if (statements.length === 0) return;
    const params = this.queuedParams;
    this.queuedStatements = [];
    this.queuedParams = [];
    let changes = 0;
    for (let i = 0; i < statements.length; i++) changes += statements[i]!.run(...params[i]!).changes;
    this.expectedChanges += changes;
  }

  /**
   * A durability point: what is batched survives a kill -9 once this returns. With a redo log the
   * logged writes are appended to it; SQLite commits when the transaction holds a write the log has
   * not seen, or has grown long.
   */
  durable(): void {
    if (!this.open) return;
    // Nothing outlives an in-memory database; its transaction is only kept from growing without end.
    if (this.mode === 'none') {
      if (++this.framesInTransaction >= framesPerCommit) this.commit();
      return;
    }
    if (this.mode === 'commit' || this.totalChanges.get() !== this.expectedChanges) return this.commit();
    if (this.pending.length === 0) return;
    this.framesInTransaction += 1;
    try {
      this.mode.log.append(this.pending);
    } catch {
      // The log could not take it (a full disk): SQLite's own commit makes it durable instead.
      return this.commit();
    }
    this.pending = [];
    if (this.framesInTransaction >= framesPerCommit) this.commit();
  }

  /** Commits what is batched, at once; a no-op when nothing is. */
  commit(): void {
    if (!this.open) return;
    clearImmediate(this.timer);
    this.open = false;
    const framed = typeof this.mode === 'object' && this.framesInTransaction > 0 ? this.mode : undefined;
    this.pending = [];
    this.framesInTransaction = 0;
    if (!this.db.open || !this.db.inTransaction) return this.dropQueued();
    this.flush();
    // SQLite now holds every appended frame: recorded in the same transaction, so recovery skips them.
    if (framed) framed.markApplied.run(framed.log.id, framed.log.frame, Date.now());
    this.db.exec('COMMIT');
    framed?.log.committed();
  }

  /**
   * Durability points append to a redo log in `dir` (a file database with normal durability), or
   * are skipped (`none`: an in-memory database, which nothing outlives); the default commits.
   */
  keepDurable(how: { redoDir: string } | 'none'): void {
    this.mode =
      how === 'none' ? 'none' : { log: new RedoLog(how.redoDir), markApplied: this.db.prepare(markAppliedSql) };
  }

  /** Applies what dead processes left in their redo logs (see {@link recoverRedoLogs}); returns the frames applied. */
  recover(): number {
    if (typeof this.mode !== 'object') return 0;
    this.commit();
    try {
      return recoverRedoLogs(this.db, this.mode.log.dir);
    } catch (error) {
      throw new CadreError(
        'store_failed',
        `Cannot apply the redo logs in ${this.mode.log.dir} that a stopped process left: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Commits, and removes this connection's redo log: before the database closes. */
  close(): void {
    // What an in-memory database would still hold goes with it.
    if (this.mode === 'none') this.dropQueued();
    this.commit();
    if (typeof this.mode === 'object') this.mode.log.close();
  }

  private dropQueued(): void {
    this.queuedStatements = [];
    this.queuedParams = [];
  }

  private begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.open = true;
    this.checked.clear();
    if (this.mode !== 'commit') this.expectedChanges = this.totalChanges.get()!;
    this.timer = setImmediate(() => this.commit());
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
    // A dead worker's last writes to the run come first: they were made under the lease it held.
    this.recover();
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
