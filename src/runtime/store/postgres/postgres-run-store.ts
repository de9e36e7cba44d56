import type { QueryResultRow } from 'pg';
import {
  CadreError,
  type CadreEvent,
  type RunOwnerFilter,
  type RunRecord,
  type RunState,
  type RunStore,
} from '../../../core/index.js';
import { followEvents } from '../follow-events.js';
import { openMigratedPool } from './migrations.js';
import { postgresWakes } from './postgres-listener.js';
import { PostgresStepJournal, PostgresToolCallJournal } from './postgres-journals.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { queryOn, serverName, storeFailed } from './postgres-pool.js';
import { postgresFencedWrites, postgresRunFences } from './postgres-run-fences.js';
import { eventRows, host, insertEventsOn, reserveOn, updateRunOn } from './postgres-run-writes.js';
import { processAlive } from '../process-alive.js';
import { PostgresTaskOutcomeStore } from './postgres-task-outcomes.js';

interface RunRow {
  id: string;
  goal: string;
  status: RunState;
  /** The process (and its host) that last wrote the run. */
  pid: number | null;
  host: string | null;
  /** bigint: pg gives it as a string. */
  created_at: string;
  updated_at: string;
  /** JSON as text, so a stored JSON null stays apart from no value at all. */
  plan: string | null;
  result: string | null;
  settings: string | null;
}

const runColumns =
  'id, goal, status, pid, host, created_at, updated_at, plan::text AS plan, result::text AS result, settings::text AS settings';

/** Whether the run is `running` for a process of this host that is gone. */
const orphaned = (row: RunRow) =>
  row.status === 'running' && row.host === host && row.pid !== null && !processAlive(row.pid);

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    goal: row.goal,
    status: orphaned(row) ? 'interrupted' : row.status,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.plan !== null ? { plan: JSON.parse(row.plan) as unknown } : {}),
    ...(row.result !== null ? { result: JSON.parse(row.result) as unknown } : {}),
    ...(row.settings !== null ? { settings: JSON.parse(row.settings) as Record<string, unknown> } : {}),
  };
}

/**
 * Opens cadre's run store on a PostgreSQL database (`CADRE_DATABASE_URL`): one connection pool
 * for runs, events, both journals, task outcomes and run fences, the tables migrated to the newest
 * version on open. Needs the `pg` package (`npm install pg`). With `schema`, every table lives in
 * that schema, created when missing.
 */
export async function openPostgresRunStore(options: PostgresPoolOptions): Promise<RunStore> {
  const pool = await openMigratedPool(options);
  const server = serverName(new URL(options.url));

  const query = <R extends QueryResultRow>(sql: string, values: unknown[] = []) =>
    queryOn<R>(pool, server, sql, values);
  const selectRuns = async (where: string, values: unknown[]) =>
    (await query<RunRow>(`SELECT ${runColumns} FROM cadre_runs ${where}`, values)).rows.map(toRecord);
  const read = async (runId: string, fromSeq = 1) => {
    const { rows } = await query<{ body: string }>(
      'SELECT body FROM cadre_events WHERE run_id = $1 AND seq >= $2 ORDER BY seq',
      [runId, fromSeq],
    );
    return rows.map((row) => JSON.parse(row.body) as CadreEvent);
  };
  const wakes = postgresWakes(pool);
  let appending: Promise<unknown> = Promise.resolve();
  // One append at a time, so a run's events commit in seq order and a follower never reads past a gap.
  const inTurn = (write: () => Promise<void>) => {
    const done = appending.then(write);
    appending = done.catch(() => undefined);
    return done;
  };
  const steps = new PostgresStepJournal(pool, server);
  const toolCalls = new PostgresToolCallJournal(pool, server);
  const outcomes = new PostgresTaskOutcomeStore(pool, server);
  const fencedParts = { pool, server, steps, toolCalls, outcomes, inTurn, announce: wakes.announce };
  let ended: Promise<void> | undefined;

  return {
    kind: 'postgres',
    runs: {
      create: async (run) => {
        const now = Date.now();
        const settings = run.settings === undefined ? null : JSON.stringify(run.settings);
        try {
          await pool.query(
            `INSERT INTO cadre_runs (id, goal, status, pid, host, created_at, updated_at, settings)
             VALUES ($1, $2, 'running', $3, $4, $5, $5, $6::jsonb)`,
            [run.id, run.goal, process.pid, host, now, settings],
          );
        } catch (error) {
          if ((error as { code?: unknown }).code === '23505')
            throw new CadreError('run_conflict', `Run ${run.id} exists already`, { cause: error });
          throw storeFailed(server, error);
        }
      },
      update: (id, patch) => updateRunOn(pool, server, id, patch),
      get: async (id) => (await selectRuns('WHERE id = $1', [id]))[0],
      list: async (limit = 50) => selectRuns('ORDER BY created_at DESC LIMIT $1', [limit]),
      claimInterrupted: async (accept = () => true) => {
        const claimed: RunRecord[] = [];
        const rows = await query<RunRow>(
          `SELECT ${runColumns} FROM cadre_runs WHERE status = 'running' AND host = $1 AND pid IS NOT NULL`,
          [host],
        );
        for (const row of rows.rows) {
          const record = toRecord(row);
          if (record.status !== 'interrupted' || !accept(record)) continue;
          // A compare-and-set on the dead process's id: of two claimers, one changes the row.
          const { rowCount } = await query(
            `UPDATE cadre_runs SET pid = $1, updated_at = $2 WHERE id = $3 AND status = 'running' AND pid = $4`,
            [process.pid, Date.now(), row.id, row.pid],
          );
          if (rowCount === 1) claimed.push(record);
        }
        return claimed;
      },
      listOwned: async (filter) => {
        const { where, values } = ownerWhere(filter);
        values.push(filter.limit ?? 50);
        return selectRuns(`${where} ORDER BY created_at DESC LIMIT $${values.length}`, values);
      },
    },
    events: {
      append: async (list: readonly CadreEvent[]) => {
        // Serialised before anything is written, so an event that cannot be stored stores none.
        const rows = eventRows(list);
        if (!rows.runIds.length) return;
        await inTurn(() => insertEventsOn(pool, server, rows));
        for (const runId of new Set(rows.runIds)) wakes.announce(runId);
      },
      read,
      lastSeq: async (runId) => {
        const { rows } = await query<{ seq: number | null }>(
          'SELECT max(seq) AS seq FROM cadre_events WHERE run_id = $1',
          [runId],
        );
        return rows[0]?.seq ?? 0;
      },
      reserve: (runId, upTo) => reserveOn(pool, server, runId, upTo),
      nextSeq: async (runId) => {
        // GREATEST skips NULLs: a run with neither events nor reservations starts at 1.
        const { rows } = await query<{ next: number }>(
          `SELECT COALESCE(GREATEST(
             (SELECT max(seq) FROM cadre_events WHERE run_id = $1),
             (SELECT reserved FROM cadre_event_seq WHERE run_id = $1)), 0) + 1 AS next`,
          [runId],
        );
        return rows[0]!.next;
      },
      follow: async function* (runId, fromSeq, signal) {
        // Listening before the first read: an event stored in between still wakes the follower.
        await wakes.ready();
        yield* followEvents({ read, wakes: wakes.wakes, pollMs: 1000 }, runId, fromSeq, signal);
      },
    },
    steps,
    toolCalls,
    outcomes,
    fences: postgresRunFences(pool, server),
    fenced: (runId, epoch) => postgresFencedWrites(fencedParts, runId, epoch),
    close: () => (ended ??= wakes.close().then(() => pool.end())),
  };
}

/** The WHERE clause of an owned-run query, with its values as $1, $2, ... */
function ownerWhere(filter: RunOwnerFilter): { where: string; values: unknown[] } {
  const values: unknown[] = [];
  const conditions: string[] = [];
  const add = (condition: string, value: unknown) => {
    values.push(value);
    conditions.push(`${condition} $${values.length}`);
  };
  // The same expression as the cadre_runs_owner index, so PostgreSQL can use it.
  if (filter.key !== undefined) add(`(settings->'owner'->>'key') =`, filter.key);
  if (filter.user !== undefined) add(`(settings->'owner'->>'user') =`, filter.user);
  if (filter.before !== undefined) add('created_at <', filter.before);
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', values };
}
