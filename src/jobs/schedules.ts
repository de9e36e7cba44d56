import type Database from 'better-sqlite3';
import { CadreError, createId, type JobInput, type JobQueue } from '../core/index.js';
import { checkJobInput } from './job-input.js';
import { checkScheduleTiming, firesDue, nextFireAfter, type ScheduleTiming } from './schedule-timing.js';

/** What a schedule queues each time it fires: a job without a run-at, dedupe key or schedule of its own. */
export type ScheduledJob = Omit<JobInput, 'runAt' | 'dedupeKey' | 'scheduleId'>;

/** A recurring job: when it fires, and what it queues. */
export interface ScheduleInput {
  timing: ScheduleTiming;
  job: ScheduledJob;
  /** Queue a fire while the previous fire's job is still queued or running; default false (that fire is skipped). */
  overlap?: boolean;
}

/** A schedule as the store keeps it. */
export interface Schedule extends Required<Pick<ScheduleInput, 'timing' | 'job' | 'overlap'>> {
  id: string;
  paused: boolean;
  /** The next planned fire time; undefined when the cron has none left. */
  nextAt?: number;
  lastFireAt?: number;
  lastJobId?: string;
  /** Fires dropped because the previous job was still going (`overlap: false`). */
  skipped: number;
  createdAt: number;
}

interface Row {
  id: string;
  body: string;
  paused: number;
  next_at: number | null;
  last_fire_at: number | null;
  last_job_id: string | null;
  skipped: number;
  created_at: number;
}

/**
 * Schedules in the same database as the jobs they queue. Any number of schedulers may tick at once:
 * each fire is queued under the dedupe key `schedule:<id>:<instant>`, so an instant is queued once,
 * and the planned time moves on by compare-and-set.
 */
export class ScheduleStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS job_schedules (
      id TEXT PRIMARY KEY, body TEXT NOT NULL, paused INTEGER NOT NULL, next_at INTEGER, last_fire_at INTEGER,
      last_job_id TEXT, skipped INTEGER NOT NULL, created_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    db.exec('CREATE INDEX IF NOT EXISTS job_schedules_due ON job_schedules (paused, next_at)');
    this.statements = {
      insert: db.prepare(
        'INSERT INTO job_schedules (id, body, paused, next_at, skipped, created_at) VALUES (?, ?, 0, ?, 0, ?)',
      ),
      get: db.prepare<[string], Row>('SELECT * FROM job_schedules WHERE id = ?'),
      all: db.prepare<[], Row>('SELECT * FROM job_schedules ORDER BY created_at'),
      due: db.prepare<[number], Row>(
        'SELECT * FROM job_schedules WHERE paused = 0 AND next_at IS NOT NULL AND next_at <= ? ORDER BY next_at',
      ),
      advance: db.prepare(
        `UPDATE job_schedules SET next_at = ?, last_fire_at = COALESCE(?, last_fire_at), last_job_id = COALESCE(?, last_job_id),
           skipped = skipped + ? WHERE id = ? AND next_at = ?`,
      ),
      pause: db.prepare('UPDATE job_schedules SET paused = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM job_schedules WHERE id = ?'),
      next: db.prepare<[], { next_at: number | null }>(
        'SELECT MIN(next_at) AS next_at FROM job_schedules WHERE paused = 0',
      ),
    };
  }

  /** Adds a schedule after checking its timing and job; `input_invalid` naming the field otherwise. */
  add(input: ScheduleInput, now = Date.now()): Schedule {
    const body = checkScheduleInput(input, now);
    const nextAt = nextFireAfter(body.timing, now - 1);
    const id = createId('sched');
    this.statements.insert.run(id, JSON.stringify(body), nextAt ?? null, now);
    return this.get(id)!;
  }

  /** The schedule, or undefined for an unknown id. */
  get(id: string): Schedule | undefined {
    const row = this.statements.get.get(id);
    return row ? toSchedule(row) : undefined;
  }

  /** Every schedule, oldest first. */
  list(): Schedule[] {
    return this.statements.all.all().map(toSchedule);
  }

  /** Stops (true) or restarts (false) a schedule's fires; `job_not_found` for an unknown id. */
  setPaused(id: string, paused: boolean): Schedule {
    if (this.statements.pause.run(paused ? 1 : 0, id).changes === 0)
      throw new CadreError('job_not_found', `No schedule ${id}`, { details: { id } });
    return this.get(id)!;
  }

  /** Deletes a schedule (its queued jobs stay); `job_not_found` for an unknown id. */
  remove(id: string): void {
    if (this.statements.remove.run(id).changes === 0)
      throw new CadreError('job_not_found', `No schedule ${id}`, { details: { id } });
  }

  /** The earliest planned fire of an active schedule, for a scheduler to sleep until. */
  nextDue(): number | undefined {
    return this.statements.next.get()?.next_at ?? undefined;
  }

  /**
   * Queues the jobs of every schedule due at `now`, by its missed-fire policy, and plans its next
   * fire. Returns the jobs queued by this call (a fire another scheduler queued first is not among them).
   */
  async tick(queue: JobQueue, now = Date.now()): Promise<string[]> {
    const queued: string[] = [];
    for (const row of this.statements.due.all(now)) {
      const schedule = toSchedule(row);
      const { fire, next } = firesDue(schedule.timing, row.next_at!, now);
      let lastJob: string | undefined;
      let skipped = 0;
      for (const instant of fire) {
        if (!schedule.overlap && (await stillGoing(queue, schedule.lastJobId))) {
          skipped++;
          continue;
        }
        // Queued before the plan moves on: a crash in between queues nothing twice (the key) and loses no fire.
        const { job, created } = await queue.enqueue(
          // Due now, even when the instant is a missed one from hours ago.
          { ...schedule.job, runAt: now, dedupeKey: `schedule:${schedule.id}:${instant}`, scheduleId: schedule.id },
          now,
        );
        lastJob = job.id;
        if (created) queued.push(job.id);
      }
      this.statements.advance.run(
        next ?? null,
        lastJob ? fire.at(-1) : null,
        lastJob ?? null,
        skipped,
        row.id,
        row.next_at,
      );
    }
    return queued;
  }
}

/**
 * Checks a schedule from untrusted input: its timing (`startAt` defaults to `now`) and its job, which
 * has no run-at, dedupe key or schedule of its own. Throws `input_invalid` naming the field.
 */
export function checkScheduleInput(input: ScheduleInput, now: number): Pick<Schedule, 'timing' | 'job' | 'overlap'> {
  if (typeof input !== 'object' || input === null) throw new CadreError('input_invalid', 'A schedule is an object');
  const timing = checkScheduleTiming({ ...input.timing, startAt: input.timing?.startAt ?? now });
  const job = checkJobInput(input.job, now) as ScheduledJob;
  for (const field of ['runAt', 'dedupeKey', 'scheduleId'] as const)
    if ((job as JobInput)[field] !== undefined)
      throw new CadreError('input_invalid', `A scheduled job has no "${field}": the schedule sets it`, {
        details: { field: `job.${field}` },
      });
  return { timing, job, overlap: input.overlap ?? false };
}

/** True while a schedule's previous job is still queued, running or waiting (what `overlap: false` waits out). */
export async function stillGoing(queue: Pick<JobQueue, 'get'>, jobId: string | undefined): Promise<boolean> {
  if (!jobId) return false;
  const job = await queue.get(jobId);
  return job !== undefined && (job.state === 'queued' || job.state === 'running' || job.state === 'waiting');
}

function toSchedule(row: Row): Schedule {
  const body = JSON.parse(row.body) as Pick<Schedule, 'timing' | 'job' | 'overlap'>;
  return {
    id: row.id,
    ...body,
    paused: row.paused === 1,
    ...(row.next_at !== null ? { nextAt: row.next_at } : {}),
    ...(row.last_fire_at !== null ? { lastFireAt: row.last_fire_at } : {}),
    ...(row.last_job_id !== null ? { lastJobId: row.last_job_id } : {}),
    skipped: row.skipped,
    createdAt: row.created_at,
  };
}
