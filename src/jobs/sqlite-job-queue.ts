import type Database from 'better-sqlite3';
import {
  CadreError,
  createId,
  jobStates,
  type Job,
  type JobFilter,
  type JobInput,
  type JobOutcome,
  type JobQueue,
  type JobState,
  type LeasedJob,
  type LeaseRequest,
} from '../core/index.js';
import { backoffDelay, checkJobInput, defaultRetry } from './job-input.js';
import { WebhookOutbox, type WebhookEvent } from './webhook-outbox.js';
import { watchDatabase } from './watch-database.js';

interface Row {
  id: string;
  queue: string;
  state: JobState;
  priority: number;
  run_at: number;
  team: string | null;
  agent: string | null;
  goal: string;
  run_id: string;
  attempts: number;
  epoch: number;
  worker: string | null;
  lease_until: number | null;
  cancel_requested: number;
  dedupe_key: string | null;
  schedule_id: string | null;
  body: string;
  result: string | null;
  error: string | null;
  decision: string | null;
  created_at: number;
  updated_at: number;
}

/** What a job keeps beside its columns. */
type Body = Pick<Job, 'retry' | 'timeoutMs' | 'budget' | 'privacy' | 'metadata' | 'webhook'>;

const schema = [
  `CREATE TABLE IF NOT EXISTS jobs (
     id TEXT PRIMARY KEY, queue TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL, run_at INTEGER NOT NULL,
     team TEXT, agent TEXT, goal TEXT NOT NULL, run_id TEXT NOT NULL, attempts INTEGER NOT NULL, epoch INTEGER NOT NULL,
     worker TEXT, lease_until INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0, dedupe_key TEXT UNIQUE,
     schedule_id TEXT, body TEXT NOT NULL, result TEXT, error TEXT, decision TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
   ) WITHOUT ROWID`,
  // Leasing reads ready jobs in this order; expired leases are found by the second index.
  // Leasing walks this index in order and stops at the first jobs it may take (no sort of the backlog).
  'DROP INDEX IF EXISTS jobs_ready',
  'CREATE INDEX IF NOT EXISTS jobs_ready_order ON jobs (state, priority DESC, run_at, created_at, id)',
  'CREATE INDEX IF NOT EXISTS jobs_leases ON jobs (state, lease_until)',
  'CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at)',
  'CREATE TABLE IF NOT EXISTS job_queues (name TEXT PRIMARY KEY, paused INTEGER NOT NULL) WITHOUT ROWID',
];

// Paused, unasked-for and saturated jobs are left out in SQL, not skipped in JS: a backlog of them
// longer than the window would otherwise hide every ready job behind it. A running job whose lease
// ran out keeps its team's slot, so it is never left out for its team being full.
const eligible = `AND queue NOT IN (SELECT name FROM job_queues WHERE paused = 1)
  AND (@queues IS NULL OR queue IN (SELECT value FROM json_each(@queues)))
  AND (state = 'running' OR (CASE WHEN team IS NOT NULL THEN 'team:' || team ELSE 'agent:' || agent END)
    NOT IN (SELECT value FROM json_each(@full)))`;

/** Lease order: priority, then due time, then age (created_at: ids made in one ms are in random order). */
const leaseOrder = (a: Row, b: Row) =>
  b.priority - a.priority || a.run_at - b.run_at || a.created_at - b.created_at || (a.id < b.id ? -1 : 1);

/** Columns a change sets; `null` clears one. */
interface Patch {
  state?: JobState;
  runAt?: number;
  attempts?: number;
  result?: unknown;
  error?: unknown;
  decision?: unknown;
  cancelRequested?: number;
}

/** Jobs looked at per lease when team limits skip some. */
const leaseWindow = 16;

/**
 * The embedded job queue: jobs in the same SQLite database as runs, so one process is enough and
 * several processes of one machine share it. Every change is one `BEGIN IMMEDIATE` transaction, and
 * every change to a leased job is a compare-and-set on its epoch, so a worker whose lease moved on
 * changes nothing.
 */
export class SqliteJobQueue implements JobQueue {
  private readonly statements;
  /** Webhook messages of settled jobs, written with the settle. */
  readonly outbox: WebhookOutbox;
  /** Prepared UPDATEs by the columns they set (a handful of shapes). */
  private readonly updates = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly random: () => number = Math.random,
  ) {
    db.transaction(() => {
      for (const statement of schema) db.exec(statement);
    })();
    this.outbox = new WebhookOutbox(db);
    this.statements = {
      insert: db.prepare(
        `INSERT INTO jobs (id, queue, state, priority, run_at, team, agent, goal, run_id, attempts, epoch, dedupe_key,
           schedule_id, body, created_at, updated_at)
         VALUES (@id, @queue, 'queued', @priority, @run_at, @team, @agent, @goal, @run_id, 0, 0, @dedupe_key,
           @schedule_id, @body, @now, @now)
         ON CONFLICT (dedupe_key) DO NOTHING`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM jobs WHERE id = ?'),
      byDedupe: db.prepare<[string], Row>('SELECT * FROM jobs WHERE dedupe_key = ?'),
      // Queued jobs that are due, and running ones whose lease ran out, each in lease order; two
      // queries rather than one with OR, so that each walks its own index.
      ready: db.prepare<{ now: number; queues: string | null; full: string }, Row>(
        `SELECT * FROM jobs WHERE state = 'queued' AND run_at <= @now ${eligible}
         ORDER BY priority DESC, run_at, created_at, id LIMIT ${leaseWindow}`,
      ),
      expired: db.prepare<{ now: number; queues: string | null; full: string }, Row>(
        `SELECT * FROM jobs WHERE state = 'running' AND lease_until < @now ${eligible}
         ORDER BY priority DESC, run_at, created_at, id LIMIT ${leaseWindow}`,
      ),
      // An expired lease still holds its team's slot (its worker may be late, and a heartbeat revives it);
      // leasing that job again hands the slot on rather than taking another.
      running: db.prepare<[], { team: string | null; agent: string | null; n: number }>(
        `SELECT team, agent, COUNT(*) AS n FROM jobs WHERE state = 'running' GROUP BY team, agent`,
      ),
      paused: db.prepare<[], { name: string }>('SELECT name FROM job_queues WHERE paused = 1'),
      take: db.prepare(
        `UPDATE jobs SET state = 'running', epoch = epoch + 1, attempts = attempts + 1, worker = ?, lease_until = ?,
           updated_at = ? WHERE id = ? AND epoch = ?`,
      ),
      heartbeat: db.prepare<[number, number, string, number], never>(
        `UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND epoch = ? AND state = 'running'`,
      ),
      setQueue: db.prepare(
        'INSERT INTO job_queues (name, paused) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused',
      ),
      counts: db.prepare<[], { state: JobState; n: number }>('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
    };
  }

  // async: a bad input rejects the promise rather than throwing before the caller has one.
  async enqueue(input: JobInput, now = Date.now()): Promise<{ job: Job; created: boolean }> {
    const job = checkJobInput(input, now);
    const body: Body = {
      retry: { ...defaultRetry, ...job.retry },
      ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
      ...(job.budget ? { budget: job.budget } : {}),
      ...(job.privacy ? { privacy: job.privacy } : {}),
      ...(job.metadata ? { metadata: job.metadata } : {}),
      ...(job.webhook ? { webhook: job.webhook } : {}),
    };
    const id = createId('job');
    const inserted = this.statements.insert.run({
      id,
      queue: job.queue ?? 'default',
      priority: job.priority ?? 0,
      run_at: job.runAt ?? now,
      team: job.team ?? null,
      agent: job.agent ?? null,
      goal: job.goal,
      run_id: createId('run'),
      dedupe_key: job.dedupeKey ?? null,
      schedule_id: job.scheduleId ?? null,
      body: JSON.stringify(body),
      now,
    });
    const row = inserted.changes === 1 ? this.statements.get.get(id) : this.statements.byDedupe.get(job.dedupeKey!);
    return Promise.resolve({ job: toJob(row!), created: inserted.changes === 1 });
  }

  lease(request: LeaseRequest): Promise<LeasedJob | undefined> {
    const now = request.now ?? Date.now();
    return Promise.resolve(
      this.db
        .transaction(() => {
          const paused = new Set(this.statements.paused.all().map((q) => q.name));
          const running = new Map<string, number>();
          if (request.teamLimits)
            for (const r of this.statements.running.all()) running.set(entryKey(r.team, r.agent), r.n);
          const full = Object.entries(request.teamLimits ?? {}).flatMap(([name, limit]) =>
            [entryKey(name, null), entryKey(null, name)].filter((key) => (running.get(key) ?? 0) >= limit),
          );
          const queues = request.queues ? JSON.stringify(request.queues) : null;
          const params = { now, queues, full: JSON.stringify(full) };
          const candidates = [...this.statements.ready.all(params), ...this.statements.expired.all(params)];
          for (const row of candidates.sort(leaseOrder)) {
            if (paused.has(row.queue) || (request.queues && !request.queues.includes(row.queue))) continue;
            const key = entryKey(row.team, row.agent);
            const limit = request.teamLimits?.[row.team ?? row.agent ?? ''];
            const others = (running.get(key) ?? 0) - (row.state === 'running' ? 1 : 0);
            if (limit !== undefined && others >= limit) continue;
            if (row.cancel_requested) {
              // Cancelled while its worker was gone: nobody is left to stop it.
              this.update(row.id, row.epoch, now, { state: 'cancelled' });
              continue;
            }
            // A lease that ran out on its last attempt ends the job: a job that kills its worker every time must stop.
            const body = JSON.parse(row.body) as Body;
            if (row.state === 'running' && row.attempts >= body.retry.attempts) {
              this.update(row.id, row.epoch, now, {
                state: 'dead',
                error: {
                  code: 'lease_expired',
                  message: `The worker running attempt ${row.attempts} stopped answering`,
                },
              });
              continue;
            }
            this.statements.take.run(request.worker, now + request.leaseMs, now, row.id, row.epoch);
            const job = toJob(this.statements.get.get(row.id)!);
            return { job, epoch: job.epoch };
          }
          return undefined;
        })
        .immediate(),
    );
  }

  heartbeat(id: string, epoch: number, leaseMs: number, now = Date.now()): Promise<'held' | 'lost' | 'cancelled'> {
    const held = this.statements.heartbeat.run(now + leaseMs, now, id, epoch).changes === 1;
    if (!held) return Promise.resolve('lost');
    return Promise.resolve(this.statements.get.get(id)?.cancel_requested ? 'cancelled' : 'held');
  }

  settle(id: string, epoch: number, outcome: JobOutcome, now = Date.now()): Promise<Job | undefined> {
    return Promise.resolve(
      this.db
        .transaction(() => {
          const row = this.statements.get.get(id);
          if (!row || row.epoch !== epoch || row.state !== 'running') return undefined;
          const retry = (JSON.parse(row.body) as Body).retry;
          // A decision answers one wait: whatever the attempt ended in, it is used up.
          const update = (patch: Patch, event?: WebhookEvent) => {
            const job = this.update(id, epoch, now, { ...patch, decision: null });
            // In the same transaction: a settled job always has its webhook message.
            if (event && job.webhook) this.outbox.add(job, event, now);
            return job;
          };
          switch (outcome.kind) {
            case 'completed':
              return update({ state: 'completed', result: outcome.result, error: null }, 'job.completed');
            case 'waiting':
              return update({ state: 'waiting', result: outcome.result }, 'job.waiting');
            case 'released':
              return update({ state: 'queued', runAt: now, attempts: row.attempts - 1 });
            case 'cancelled':
              return update({ state: 'cancelled' });
            case 'failed': {
              const again = outcome.retry !== false && row.attempts < retry.attempts;
              return update(
                {
                  state: again ? 'queued' : 'dead',
                  error: outcome.error,
                  ...(again ? { runAt: now + backoffDelay(retry, row.attempts, this.random) } : {}),
                },
                again ? 'job.failed' : 'job.dead',
              );
            }
          }
        })
        .immediate(),
    );
  }

  /** The job, or undefined for an unknown id. */
  get(id: string): Promise<Job | undefined> {
    const row = this.statements.get.get(id);
    return Promise.resolve(row ? toJob(row) : undefined);
  }

  list(filter: JobFilter = {}): Promise<Job[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    for (const column of ['state', 'queue'] as const) {
      if (filter[column] === undefined) continue;
      where.push(`${column} = ?`);
      values.push(filter[column]);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare<unknown[], Row>(sql).all(...values, filter.limit ?? 100);
    return Promise.resolve(rows.map(toJob));
  }

  retry(id: string, now = Date.now()): Promise<Job> {
    return this.change(id, ['dead', 'cancelled'], 'retried', (row) =>
      this.update(id, row.epoch, now, { state: 'queued', runAt: now, attempts: 0, error: null, cancelRequested: 0 }),
    );
  }

  cancel(id: string, now = Date.now()): Promise<Job> {
    return this.change(id, ['queued', 'waiting', 'running'], 'cancelled', (row) =>
      row.state === 'running'
        ? this.update(id, row.epoch, now, { cancelRequested: 1 })
        : this.update(id, row.epoch, now, { state: 'cancelled' }),
    );
  }

  answer(id: string, decision: unknown, now = Date.now()): Promise<Job> {
    return this.change(id, ['waiting'], 'answered', (row) =>
      this.update(id, row.epoch, now, { state: 'queued', runAt: now, decision }),
    );
  }

  /** Stops leasing from a queue (running jobs go on). */
  pause(queue: string): Promise<void> {
    this.statements.setQueue.run(queue, 1);
    return Promise.resolve();
  }

  /** Leases from a paused queue again. */
  resume(queue: string): Promise<void> {
    this.statements.setQueue.run(queue, 0);
    return Promise.resolve();
  }

  paused(): Promise<string[]> {
    return Promise.resolve(this.statements.paused.all().map((q) => q.name));
  }

  counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(jobStates.map((s) => [s, 0])) as Record<JobState, number>;
    for (const { state, n } of this.statements.counts.all()) counts[state] = n;
    return Promise.resolve(counts);
  }

  /**
   * Calls `onWork` soon after any process commits to this queue's database file (see
   * `watchDatabase`); an in-memory database has no other process to hear from.
   */
  watch(onWork: () => void): () => void {
    return watchDatabase(this.db.name, onWork);
  }

  /** Nothing to close: the database belongs to the store, whose runs use it too. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A change a person asks for, allowed only from some states; `job_not_found` or `input_invalid` otherwise. */
  private async change(id: string, from: JobState[], verb: string, apply: (row: Row) => Job): Promise<Job> {
    return Promise.resolve(
      this.db
        .transaction(() => {
          const row = this.statements.get.get(id);
          if (!row) throw new CadreError('job_not_found', `No job ${id}`, { details: { id } });
          if (!from.includes(row.state))
            throw new CadreError(
              'input_invalid',
              `Job ${id} is ${row.state}; only a ${from.join(' or ')} job can be ${verb}`,
              {
                details: { id, state: row.state },
              },
            );
          return apply(row);
        })
        .immediate(),
    );
  }

  private update(id: string, epoch: number, now: number, patch: Patch): Job {
    const sets = ['updated_at = ?'];
    const values: unknown[] = [now];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (patch.state) {
      set('state', patch.state);
      // Whoever held it holds it no longer.
      if (patch.state !== 'running') sets.push('worker = NULL', 'lease_until = NULL');
    }
    if (patch.runAt !== undefined) set('run_at', patch.runAt);
    if (patch.attempts !== undefined) set('attempts', patch.attempts);
    if (patch.cancelRequested !== undefined) set('cancel_requested', patch.cancelRequested);
    for (const key of ['result', 'error', 'decision'] as const)
      if (patch[key] !== undefined) set(key, patch[key] === null ? null : JSON.stringify(patch[key]));
    const sql = `UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND epoch = ?`;
    let statement = this.updates.get(sql);
    if (!statement) this.updates.set(sql, (statement = this.db.prepare(sql)));
    statement.run(...values, id, epoch);
    return toJob(this.statements.get.get(id)!);
  }
}

const entryKey = (team: string | null, agent: string | null) => (team !== null ? `team:${team}` : `agent:${agent}`);

function toJob(row: Row): Job {
  const body = JSON.parse(row.body) as Body;
  return {
    id: row.id,
    queue: row.queue,
    ...(row.team !== null ? { team: row.team } : {}),
    ...(row.agent !== null ? { agent: row.agent } : {}),
    goal: row.goal,
    state: row.state,
    priority: row.priority,
    runAt: row.run_at,
    runId: row.run_id,
    attempts: row.attempts,
    ...body,
    ...(row.dedupe_key !== null ? { dedupeKey: row.dedupe_key } : {}),
    ...(row.schedule_id !== null ? { scheduleId: row.schedule_id } : {}),
    epoch: row.epoch,
    ...(row.worker !== null ? { worker: row.worker } : {}),
    ...(row.lease_until !== null ? { leaseUntil: row.lease_until } : {}),
    ...(row.result !== null ? { result: JSON.parse(row.result) as Job['result'] } : {}),
    ...(row.error !== null ? { error: JSON.parse(row.error) as Job['error'] } : {}),
    ...(row.decision !== null ? { decision: JSON.parse(row.decision) as unknown } : {}),
    ...(row.cancel_requested ? { cancelRequested: true } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
