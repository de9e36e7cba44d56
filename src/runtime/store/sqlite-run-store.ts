import { CadreError, type CadreEvent, type RunStore } from '../../core/index.js';
import type { CadreStore } from './cadre-store.js';
import { followEvents, localWakes } from './follow-events.js';
import { WriteBatch } from './write-batch.js';

/**
 * The embedded store's runs and events behind the asynchronous {@link RunStore} calls, the ones a
 * PostgreSQL store answers too, with the store's own step and tool-call journals and task outcome
 * log. A run's record joins the store's write batch as the runtime's own writes do; a list of events
 * is written in a transaction of its own, so it is stored whole or not at all. `close` closes the
 * store itself, which every opener of the same file shares.
 */
export function sqliteRunStore(store: CadreStore): RunStore {
  const { runs, events, db, steps, toolCalls, outcomes } = store;
  const local = localWakes();
  const conflict = (id: string) => new CadreError('run_conflict', `Run ${id} exists already`);
  return {
    kind: 'sqlite',
    runs: {
      create: async (run) => {
        if (runs.get(run.id)) throw conflict(run.id);
        try {
          runs.create(run);
        } catch (error) {
          // Another process made a run with that id since the check.
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw conflict(run.id);
          throw error;
        }
      },
      update: async (id, patch) => {
        if (!runs.get(id)) throw new CadreError('run_not_found', `No run ${id}`);
        runs.update(id, patch);
      },
      get: async (id) => runs.get(id),
      list: async (limit) => runs.list(limit),
      listOwned: async (filter) => runs.listOwned(filter),
    },
    events: {
      append: async (list: readonly CadreEvent[]) => {
        // What the batch holds goes first, so that this transaction's rollback cannot take it along.
        WriteBatch.of(db).commit();
        db.transaction(() => {
          for (const event of list) events.append(event);
        })();
        for (const runId of new Set(list.map((event) => event.runId))) local.announce(runId);
      },
      read: async (runId, fromSeq) => events.read(runId, fromSeq),
      lastSeq: async (runId) => events.lastSeq(runId),
      reserve: async (runId, upTo) => events.reserve(runId, upTo),
      nextSeq: async (runId) => events.nextSeq(runId),
      // Appends made here wake a follower at once; those of other processes (and of runs, which write
      // through the store itself) are found by reading again every 100 ms.
      follow: (runId, fromSeq, signal) =>
        followEvents(
          { read: async (id, from) => events.read(id, from), wakes: local.wakes, pollMs: 100 },
          runId,
          fromSeq,
          signal,
        ),
    },
    steps,
    toolCalls,
    outcomes: {
      put: async (runId, firstAttempt, outcome) => outcomes.put(runId, firstAttempt, outcome),
      get: async (runId, taskId, firstAttempt) => outcomes.get(runId, taskId, firstAttempt),
      putRevision: async (runId, revision, state) => outcomes.putRevision(runId, revision, state),
      lastRevision: async (runId) => outcomes.lastRevision(runId),
    },
    close: async () => store.close(),
  };
}
