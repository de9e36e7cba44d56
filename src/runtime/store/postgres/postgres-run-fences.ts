import type { Pool, PoolClient } from 'pg';
import type { FencedRunWrites, RunFenceStore } from '../../../core/index.js';
import { checkOwnRun, leaseLost } from '../fenced-run-writes.js';
import type { PostgresStepJournal, PostgresToolCallJournal } from './postgres-journals.js';
import { inTransaction, queryOn } from './postgres-pool.js';
import { eventRows, insertEventsOn, reserveOn, updateRunOn } from './postgres-run-writes.js';
import type { PostgresTaskOutcomeStore } from './postgres-task-outcomes.js';

/** The fences of a PostgreSQL store's runs (`cadre_run_fences`); a take is one statement. */
export function postgresRunFences(pool: Pool, server: string): RunFenceStore {
  return {
    take: async (runId, epoch) => {
      // Waits for the row lock of every fenced write in flight (FOR SHARE, below) to go: they commit first.
      const { rowCount } = await queryOn(
        pool,
        server,
        `INSERT INTO cadre_run_fences (run_id, epoch) VALUES ($1, $2)
         ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch WHERE cadre_run_fences.epoch < excluded.epoch
         RETURNING run_id`,
        [runId, epoch],
      );
      return rowCount === 1;
    },
    epoch: async (runId) => {
      const { rows } = await queryOn<{ epoch: string }>(
        pool,
        server,
        'SELECT epoch FROM cadre_run_fences WHERE run_id = $1',
        [runId],
      );
      // bigint: pg gives it as a string.
      return rows[0] && Number(rows[0].epoch);
    },
  };
}

/** What a PostgreSQL store's fenced writes run on: its pool and the parts whose statements they share. */
export interface FencedParts {
  pool: Pool;
  server: string;
  steps: PostgresStepJournal;
  toolCalls: PostgresToolCallJournal;
  outcomes: PostgresTaskOutcomeStore;
  /** Runs an event append in the store's turn: one at a time, so a run's events commit in seq order. */
  inTurn(write: () => Promise<void>): Promise<void>;
  /** Wakes this process's followers of a run at once. */
  announce(runId: string): void;
}

/**
 * The run's writes under `epoch`: each in a transaction on one client that first reads the run's
 * fence `FOR SHARE`, so a `take` of the fence waits until the write has committed, and a write that
 * finds another epoch (or none) rolls back with `lease_lost`.
 */
export function postgresFencedWrites(parts: FencedParts, runId: string, epoch: number): FencedRunWrites {
  const { pool, server, steps, toolCalls, outcomes } = parts;
  const underFence = async (write: (client: PoolClient) => Promise<unknown>, named: readonly string[] = []) => {
    checkOwnRun(runId, named);
    await inTransaction(pool, server, async (client) => {
      const { rows } = await queryOn<{ epoch: string }>(
        client,
        server,
        'SELECT epoch FROM cadre_run_fences WHERE run_id = $1 FOR SHARE',
        [runId],
      );
      const held = rows[0] && Number(rows[0].epoch);
      if (held !== epoch) throw leaseLost(runId, epoch, held);
      await write(client);
    });
  };
  return {
    runId,
    epoch,
    updateRun: (patch) => underFence((client) => updateRunOn(client, server, runId, patch)),
    appendEvents: async (list) => {
      const named = list.map((event) => event.runId);
      checkOwnRun(runId, named);
      // Serialised before the transaction, so an event that cannot be stored stores none.
      const rows = eventRows(list);
      await parts.inTurn(() => underFence((client) => insertEventsOn(client, server, rows)));
      if (rows.runIds.length) parts.announce(runId);
    },
    reserve: (upTo) => underFence((client) => reserveOn(client, server, runId, upTo)),
    appendStep: (step) => underFence((client) => steps.append(step, client), [step.runId]),
    beginCall: (call) => underFence((client) => toolCalls.begin(call, client), [call.runId]),
    completeCall: (key, outcome) => underFence((client) => toolCalls.complete(key, outcome, client), [key.runId]),
    putOutcome: (firstAttempt, outcome) => underFence((client) => outcomes.put(runId, firstAttempt, outcome, client)),
    putRevision: (revision, state) => underFence((client) => outcomes.putRevision(runId, revision, state, client)),
  };
}
