import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from '../../core/index.js';
import type { RunReadings, SqliteDatabase } from '../../runtime/store/index.js';

/** The team (or `agent:<name>`) a run was started by, in SQL over the runs table. */
const teamOf = `COALESCE(json_extract(r.settings, '$.app.team'), 'agent:' || json_extract(r.settings, '$.app.agent'), '')`;

/** What a queue that keeps its jobs outside the store (BullMQ) reports itself; the store knows nothing of them. */
export interface QueueReadings {
  /** Queued jobs by queue. */
  depths(): Promise<Record<string, number>>;
  /** When each worker holding a job last renewed one of its leases, in ms. */
  leaseRenewals(): Promise<{ worker: string; renewed: number }[]>;
}

/**
 * Prometheus metrics of the service, read when scraped from where the jobs and runs are kept, so they
 * cover every process that shares them (workers elsewhere included): jobs by state, queue depth, runs
 * by status, run time, tokens and cost by team and model, and how long ago each worker holding a job
 * renewed its lease. Jobs come from the queue when it reports them (BullMQ: from Redis), else from the store.
 */
export function createMetrics(options: {
  db: SqliteDatabase;
  queue: JobQueue & Partial<QueueReadings>;
  /** Where runs are read from when they are not in `db` (PostgreSQL). */
  runs?: RunReadings;
}): Registry {
  const { db, queue } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cadre_process_' });
  const statements = {
    depth: db.prepare<[], { queue: string; n: number }>(
      "SELECT queue, COUNT(*) AS n FROM jobs WHERE state = 'queued' GROUP BY queue",
    ),
    runs: db.prepare<[], { status: string; n: number }>('SELECT status, COUNT(*) AS n FROM runs GROUP BY status'),
    runTime: db.prepare<[], { team: string; seconds: number; n: number }>(
      `SELECT ${teamOf} AS team, SUM(json_extract(r.result, '$.durationMs')) / 1000.0 AS seconds, COUNT(*) AS n
       FROM runs r WHERE r.status = 'completed' AND json_extract(r.result, '$.durationMs') IS NOT NULL GROUP BY team`,
    ),
    spend: db.prepare<[], { team: string; model: string; input: number; output: number; cost: number }>(
      `SELECT ${teamOf} AS team, json_extract(m.value, '$.model') AS model,
         SUM(json_extract(m.value, '$.usage.inputTokens')) AS input, SUM(json_extract(m.value, '$.usage.outputTokens')) AS output,
         SUM(json_extract(m.value, '$.costUsd')) AS cost
       FROM runs r, json_each(r.result, '$.models') m WHERE r.result IS NOT NULL GROUP BY team, model`,
    ),
    leases: db.prepare<[], { worker: string; renewed: number }>(
      "SELECT worker, MAX(updated_at) AS renewed FROM jobs WHERE state = 'running' AND worker IS NOT NULL GROUP BY worker",
    ),
  };
  const runs: RunReadings = options.runs ?? {
    byStatus: async () => statements.runs.all(),
    runTime: async () => statements.runTime.all(),
    spend: async () => statements.spend.all(),
  };
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void | Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  gauge('cadre_jobs', 'Jobs by state.', ['state'], async (g) => {
    for (const [state, n] of Object.entries(await queue.counts())) g.set({ state }, n);
  });
  gauge('cadre_queue_depth', 'Queued jobs by queue.', ['queue'], async (g) => {
    const depths = queue.depths
      ? Object.entries(await queue.depths())
      : statements.depth.all().map((r) => [r.queue, r.n]);
    for (const [name, n] of depths as [string, number][]) g.set({ queue: name }, n);
  });
  gauge('cadre_runs', 'Runs by status.', ['status'], async (g) => {
    for (const { status, n } of await runs.byStatus()) g.set({ status }, n);
  });
  // Collected side by side at each scrape: each gauge reads its own rows.
  gauge('cadre_run_seconds_sum', 'Time completed runs took, by team (with _count: the mean).', ['team'], async (g) => {
    for (const { team, seconds } of await runs.runTime()) g.set({ team }, seconds);
  });
  gauge('cadre_run_seconds_count', 'Completed runs by team.', ['team'], async (g) => {
    for (const { team, n } of await runs.runTime()) g.set({ team }, n);
  });
  gauge(
    'cadre_model_tokens',
    'Tokens by team, model and direction (in, out).',
    ['team', 'model', 'direction'],
    async (g) => {
      for (const row of await runs.spend()) {
        g.set({ team: row.team, model: row.model, direction: 'in' }, row.input ?? 0);
        g.set({ team: row.team, model: row.model, direction: 'out' }, row.output ?? 0);
      }
    },
  );
  gauge('cadre_model_cost_usd', 'US dollars by team and model.', ['team', 'model'], async (g) => {
    for (const row of await runs.spend()) g.set({ team: row.team, model: row.model }, row.cost ?? 0);
  });
  gauge(
    'cadre_worker_lease_age_seconds',
    'Seconds since each worker holding a job last renewed a lease.',
    ['worker'],
    async (g) => {
      const leases = queue.leaseRenewals ? await queue.leaseRenewals() : statements.leases.all();
      const now = Date.now();
      for (const { worker, renewed } of leases) g.set({ worker }, (now - renewed) / 1000);
    },
  );
  return registry;
}
