import { CadreError, type CadreEvent, type FencedRunWrites, type RunStore } from '../../core/index.js';
import type { CadreStore } from './cadre-store.js';
import { checkOwnRun, leaseLost } from './fenced-run-writes.js';
import { followEvents, localWakes } from './follow-events.js';
import { WriteBatch } from './write-batch.js';

/**
 * The embedded store's runs and events behind the asynchronous {@link RunStore} calls, the ones a
 * PostgreSQL store answers too, with the store's own step and tool-call journals and task outcome
 * log. A run's record joins the store's write batch as the runtime's own writes do; a list of events
 * is written in a transaction of its own, so it is stored whole or not at all. `close` closes the
 * store itself, which every opener of the same file shares. Fences are the store's own (`run_fences`),
 * the table the write batch checks for runs a worker holds.
 */
export function sqliteRunStore(store: CadreStore): RunStore {
  const { runs, events, db, steps, toolCalls, outcomes } = store;
  const local = localWakes();
  const conflict = (id: string) => new CadreError('run_conflict', `Run ${id} exists already`);
  const notFound = (id: string) => new CadreError('run_not_found', `No run ${id}`);
  const fenceOf = db.prepare<[string], { epoch: number }>('SELECT epoch FROM run_fences WHERE run_id = ?');
  const fenced = (runId: string, epoch: number): FencedRunWrites => {
    /** Runs `write` in a transaction of its own that first checks the run's fence, so a refusal writes nothing. */
    const underFence = async (write: () => void, named: readonly string[] = []) => {
      checkOwnRun(runId, named);
      // What the batch holds goes first, so that this transaction's rollback cannot take it along.
      WriteBatch.of(db).commit();
      // IMMEDIATE: the write lock from the check on, so no other process takes the fence until this commits.
      db.transaction(() => {
        const held = fenceOf.get(runId)?.epoch;
        if (held !== epoch) throw leaseLost(runId, epoch, held);
        write();
      }).immediate();
    };
    return {
      runId,
      epoch,
      updateRun: (patch) =>
        underFence(() => {
          if (!runs.get(runId)) throw notFound(runId);
          runs.update(runId, patch);
        }),
      appendEvents: async (list) => {
        const named = list.map((event) => event.runId);
        await underFence(() => list.forEach((event) => events.append(event)), named);
        if (list.length) local.announce(runId);
      },
      reserve: (upTo) => underFence(() => events.reserve(runId, upTo)),
      appendStep: (step) => underFence(() => steps.append(step), [step.runId]),
      beginCall: (call) => underFence(() => toolCalls.begin(call), [call.runId]),
      completeCall: (key, outcome) => underFence(() => toolCalls.complete(key, outcome), [key.runId]),
      putOutcome: (firstAttempt, outcome) => underFence(() => outcomes.put(runId, firstAttempt, outcome)),
      putRevision: (revision, state) => underFence(() => outcomes.putRevision(runId, revision, state)),
    };
  };
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
        if (!runs.get(id)) throw notFound(id);
        runs.update(id, patch);
      },
      get: async (id) => runs.get(id),
      list: async (limit) => runs.list(limit),
      listOwned: async (filter) => runs.listOwned(filter),
      claimInterrupted: async (accept) => runs.claimInterrupted(accept),
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
    fences: {
      take: async (runId, epoch) => store.fences.take(runId, epoch),
      epoch: async (runId) => fenceOf.get(runId)?.epoch,
    },
    fenced,
    close: async () => store.close(),
  };
}
