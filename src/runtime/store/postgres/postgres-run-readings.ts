import type { QueryResultRow } from 'pg';
import { openMigratedPool } from './migrations.js';
import type { PostgresPoolOptions } from './postgres-options.js';
import { queryOn, serverName } from './postgres-pool.js';

/** What `GET /metrics` reads of the runs, over every process that shares the store. */
export interface RunReadings {
  /** Runs by status. */
  byStatus(): Promise<{ status: string; n: number }[]>;
  /** Completed runs by team (or `agent:<name>`): how many, and the seconds they took together. */
  runTime(): Promise<{ team: string; seconds: number; n: number }[]>;
  /** Tokens in and out and US dollars by team and model, from each run's record. */
  spend(): Promise<{ team: string; model: string; input: number; output: number; cost: number }[]>;
}

/** The team (or `agent:<name>`) a run was started by, over `cadre_runs r`. */
const teamOf = `COALESCE(r.settings->'app'->>'team', 'agent:' || (r.settings->'app'->>'agent'), '')`;

/** The readings of the runs in PostgreSQL (`cadre_runs`), on a pool of one connection. */
export async function openPostgresRunReadings(
  options: PostgresPoolOptions,
): Promise<RunReadings & { close(): Promise<void> }> {
  const pool = await openMigratedPool({ ...options, max: 1 });
  const server = serverName(new URL(options.url));
  const rows = async <R extends QueryResultRow>(sql: string) => (await queryOn<R>(pool, server, sql)).rows;
  return {
    byStatus: () => rows('SELECT status, COUNT(*)::int AS n FROM cadre_runs GROUP BY status'),
    runTime: () =>
      rows(
        `SELECT ${teamOf} AS team, SUM((r.result->>'durationMs')::float8) / 1000.0 AS seconds, COUNT(*)::int AS n
           FROM cadre_runs r WHERE r.status = 'completed' AND r.result->>'durationMs' IS NOT NULL GROUP BY 1`,
      ),
    spend: () =>
      rows(
        `SELECT ${teamOf} AS team, m->>'model' AS model,
                SUM((m->'usage'->>'inputTokens')::float8) AS input, SUM((m->'usage'->>'outputTokens')::float8) AS output,
                SUM((m->>'costUsd')::float8) AS cost
           FROM cadre_runs r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.result->'models') = 'array'
                                                        THEN r.result->'models' ELSE '[]'::jsonb END) m
          GROUP BY 1, 2`,
      ),
    close: () => pool.end(),
  };
}
