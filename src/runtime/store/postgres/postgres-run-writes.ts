import { hostname } from 'node:os';
import { CadreError, type CadreEvent, type RunPatch } from '../../../core/index.js';
import { eventsChannel } from './postgres-listener.js';
import { queryOn, type Queryable } from './postgres-pool.js';

// The statements of a PostgreSQL store's run and event writes, on the pool or on the client of a
// transaction (a fenced write), so that each statement is written once.

/** This machine's name, read once: a run records it with every write. */
export const host = hostname();

/** Changes status, plan or result of a run, moving `updated_at` to now; an unknown id is `run_not_found`. */
export async function updateRunOn(db: Queryable, server: string, id: string, patch: RunPatch): Promise<void> {
  // The process that writes a run holds it, as in the SQLite store.
  const values: unknown[] = [Date.now(), process.pid, host];
  const sets = ['updated_at = $1', 'pid = $2', 'host = $3'];
  const set = (column: string, value: unknown, cast = '') => {
    values.push(value);
    sets.push(`${column} = $${values.length}${cast}`);
  };
  if (patch.status) set('status', patch.status);
  if (patch.plan !== undefined) set('plan', JSON.stringify(patch.plan), '::jsonb');
  if (patch.result !== undefined) set('result', JSON.stringify(patch.result), '::jsonb');
  values.push(id);
  const sql = `UPDATE cadre_runs SET ${sets.join(', ')} WHERE id = $${values.length} RETURNING id`;
  if (!(await queryOn(db, server, sql, values)).rowCount) throw new CadreError('run_not_found', `No run ${id}`);
}

/** Events as the columns of one INSERT: serialised, and of two with one run and seq only the later. */
export interface EventRows {
  runIds: string[];
  seqs: number[];
  types: string[];
  ts: number[];
  bodies: string[];
}

/** Serialises events for {@link insertEventsOn}; throws, before anything is written, on one that cannot be. */
export function eventRows(list: readonly CadreEvent[]): EventRows {
  const bodies = list.map((event) => JSON.stringify(event));
  // One INSERT may not touch a row twice: of two events with one run and seq, the later wins.
  const latest = [...new Map(list.map((event, i) => [`${event.runId}\u0000${event.seq}`, i])).values()];
  return {
    runIds: latest.map((i) => list[i]!.runId),
    seqs: latest.map((i) => list[i]!.seq),
    types: latest.map((i) => list[i]!.type),
    ts: latest.map((i) => list[i]!.ts),
    bodies: latest.map((i) => bodies[i]!),
  };
}

/** Stores the events in one statement, all or none; each run's followers are notified when it commits. */
export async function insertEventsOn(db: Queryable, server: string, rows: EventRows): Promise<void> {
  if (!rows.runIds.length) return;
  // unnest turns the five arrays into rows, whatever their length.
  await queryOn(
    db,
    server,
    `WITH stored AS (
       INSERT INTO cadre_events (run_id, seq, type, ts, body)
       SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::text[])
       ON CONFLICT (run_id, seq) DO UPDATE SET type = excluded.type, ts = excluded.ts, body = excluded.body
       RETURNING run_id)
     SELECT pg_notify('${eventsChannel}', run_id) FROM stored GROUP BY run_id`,
    [rows.runIds, rows.seqs, rows.types, rows.ts, rows.bodies],
  );
}

/** Records that the run's seqs up to `upTo` may be in use; a lower reservation never lowers it. */
export async function reserveOn(db: Queryable, server: string, runId: string, upTo: number): Promise<void> {
  await queryOn(
    db,
    server,
    `INSERT INTO cadre_event_seq (run_id, reserved) VALUES ($1, $2)
     ON CONFLICT (run_id) DO UPDATE SET reserved = GREATEST(cadre_event_seq.reserved, excluded.reserved)`,
    [runId, upTo],
  );
}
