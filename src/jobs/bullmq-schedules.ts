import type { Job as BullJob, JobSchedulerRepeatOptions, Queue } from 'bullmq';
import { CadreError, createId, type Job, type JobInput } from '../core/index.js';
import { bullPriority, type bullmqKeys, type Fields } from './bullmq-job-record.js';
import { defaultRetry } from './job-input.js';
import { firesDue, nextFireAfter } from './schedule-timing.js';
import type { QueueRecords } from './queue-records.js';
import { checkScheduleInput, stillGoing, type Schedule, type ScheduleInput } from './schedules.js';

/**
 * The schedules of a BullMQ job queue, kept as BullMQ job schedulers: every process on that
 * queue sees the same schedules, and BullMQ makes each fire instant one job (`repeat:<id>:<instant>`)
 * whichever worker leases it. The methods of the embedded `ScheduleStore`, awaited.
 */
export interface BullmqScheduleStore {
  /** Adds a schedule after checking its timing and job; `input_invalid` naming the field otherwise. */
  add(input: ScheduleInput, now?: number): Promise<Schedule>;
  /** The schedule, or undefined for an unknown id. */
  get(id: string): Promise<Schedule | undefined>;
  /** Every schedule, oldest first. */
  list(): Promise<Schedule[]>;
  /**
   * Stops (true) or restarts (false) a schedule's fires; `job_not_found` for an unknown id. A restart
   * applies the missed-fire policy to the fire that was planned when it stopped, as the embedded store does.
   */
  setPaused(id: string, paused: boolean, now?: number): Promise<Schedule>;
  /** Deletes a schedule (its queued jobs stay); `job_not_found` for an unknown id. */
  remove(id: string): Promise<void>;
}

/** What the schedules use of the BullMQ job queue they belong to. */
export interface BullmqSchedulesOptions {
  records: QueueRecords;
  keys: ReturnType<typeof bullmqKeys>;
  queueFor: (name: string) => Queue<Fields>;
  underLeaseLock: <T>(body: () => Promise<T>) => Promise<T>;
  get: (id: string) => Promise<Job | undefined>;
  enqueue: (input: JobInput, now: number) => Promise<{ job: Job; created: boolean }>;
  /** Without a webhook outbox the queue refuses a job with a `webhook`, and so does a schedule. */
  hasOutbox: boolean;
}

/** cadre's record beside a BullMQ job scheduler (the fields of its key). */
interface ScheduleRecord {
  body?: string;
  queue?: string;
  paused?: string;
  createdAt?: string;
  skipped?: string;
  lastFireAt?: string;
  lastJobId?: string;
  /** While paused: the fire that was planned when it stopped. */
  nextAt?: string;
  /** The first instant of the plan made at the last restart: an earlier fire is left from before the pause. */
  from?: string;
}

type Body = Pick<Schedule, 'timing' | 'job' | 'overlap'>;

/**
 * BullMQ's `repeatStrategy` for cadre's crons: the next fire reckoned by croner, as the embedded store
 * reckons it (time zone, DST, a seconds field), so a cron fires at the same instants on either queue.
 */
export function cronRepeatStrategy(millis: number, opts: JobSchedulerRepeatOptions): number | undefined {
  if (opts.pattern === undefined) return undefined;
  const startAt = opts.startDate === undefined ? undefined : new Date(opts.startDate).getTime();
  return nextFireAfter(
    { cron: opts.pattern, tz: opts.tz ?? 'UTC', ...(startAt !== undefined ? { startAt } : {}) },
    millis,
  );
}

/** The instant a job scheduler's fire stands for: BullMQ names it `repeat:<scheduler>:<instant>`. */
const instantOf = (jobId: string) => Number(jobId.slice(jobId.lastIndexOf(':') + 1));

const notFound = (id: string) => new CadreError('job_not_found', `No schedule ${id}`, { details: { id } });

/**
 * The schedules of a BullMQ job queue, with what its leases need of them: `adopt` (a fire BullMQ made
 * due becomes a cadre job, or is dropped), `promoteFires` and `pendingFires`.
 */
export function createBullmqSchedules(options: BullmqSchedulesOptions) {
  const { records, keys: k, queueFor, underLeaseLock } = options;

  const read = async (id: string) => {
    const record = (await records.fields(k.schedule(id))) as ScheduleRecord;
    return record.body && record.queue
      ? { record, body: JSON.parse(record.body) as Body, queue: record.queue }
      : undefined;
  };

  const get = async (id: string): Promise<Schedule | undefined> => {
    const found = await read(id);
    if (!found) return undefined;
    const { record, body, queue } = found;
    const paused = record.paused === '1';
    const nextAt = paused
      ? record.nextAt === undefined
        ? undefined
        : Number(record.nextAt)
      : (await queueFor(queue).getJobScheduler(id))?.next;
    return {
      id,
      ...body,
      paused,
      ...(nextAt !== undefined ? { nextAt } : {}),
      ...(record.lastFireAt !== undefined ? { lastFireAt: Number(record.lastFireAt) } : {}),
      ...(record.lastJobId !== undefined ? { lastJobId: record.lastJobId } : {}),
      skipped: Number(record.skipped ?? 0),
      createdAt: Number(record.createdAt),
    };
  };

  /** Hands the schedule to BullMQ as a job scheduler firing from `startAt` on; the instant of its first fire. */
  const plan = async (id: string, { timing, job }: Body, queue: string, startAt: number) => {
    const { retry, ...rest } = job;
    const priority = job.priority ?? 0;
    // Each fire's run id and creation time are given when a lease takes it (`adopt`).
    const data = { ...rest, queue, priority, retry: { ...defaultRetry, ...retry }, scheduleId: id } as Fields;
    const repeat =
      timing.cron !== undefined
        ? { pattern: timing.cron, tz: timing.tz ?? 'UTC', startDate: startAt }
        : { every: timing.everyMs!, startDate: startAt };
    const first = await queueFor(queue).upsertJobScheduler(id, repeat, {
      name: 'run',
      data,
      opts: { priority: bullPriority(priority), attempts: 1 },
    });
    return first?.id ? instantOf(first.id) : undefined;
  };

  /** Queues one fire outside BullMQ's plan (a restart's missed fire), as the embedded store would. */
  const fireNow = async (
    id: string,
    { job, overlap }: Body,
    lastJobId: string | undefined,
    instant: number,
    now: number,
  ) => {
    if (!overlap && (await stillGoing(options, lastJobId)))
      return void (await records.batch().increment(k.schedule(id), 'skipped', 1).exec());
    const queued = await options.enqueue(
      { ...job, runAt: now, dedupeKey: `schedule:${id}:${instant}`, scheduleId: id },
      now,
    );
    await records.batch().set(k.schedule(id), { lastFireAt: instant, lastJobId: queued.job.id }).exec();
  };

  const store: BullmqScheduleStore = {
    async add(input, now = Date.now()) {
      const body = checkScheduleInput(input, now);
      if (body.job.webhook !== undefined && !options.hasOutbox)
        throw new CadreError(
          'config_invalid',
          'This BullMQ job queue has no webhook outbox: pass `outbox` to createBullmqJobQueue, or open it with openJobQueue',
        );
      const id = createId('sched');
      const queue = body.job.queue ?? 'default';
      await records
        .batch()
        .set(k.schedule(id), { body: JSON.stringify(body), queue, paused: 0, skipped: 0, createdAt: now })
        .addScored(k.schedules, now, id)
        .add(k.scheduledQueues, queue)
        .add(k.queues, queue)
        .exec();
      const { timing } = body;
      let first: number | undefined;
      try {
        first = await plan(id, body, queue, nextFireAfter(timing, now - 1) ?? now);
      } catch (error) {
        // Not left half-made: a record without BullMQ's scheduler would be listed but never fire.
        await records.batch().drop(k.schedule(id)).removeScored(k.schedules, id).exec();
        throw error;
      }
      // BullMQ starts an interval no earlier than its own clock, then counts from that first fire.
      if (timing.everyMs !== undefined && first !== undefined && (first - timing.startAt!) % timing.everyMs !== 0) {
        const moved = { ...body, timing: { ...timing, startAt: first } };
        await records
          .batch()
          .set(k.schedule(id), { body: JSON.stringify(moved) })
          .exec();
      }
      return (await get(id))!;
    },

    get,

    async list() {
      const ids = await records.range(k.schedules, 0, -1);
      return (await Promise.all(ids.map(get))).filter((s): s is Schedule => s !== undefined);
    },

    // Under the lease lock: no lease adopts a fire of this schedule meanwhile.
    setPaused(id, paused, now = Date.now()) {
      return underLeaseLock(async () => {
        const found = await read(id);
        if (!found) throw notFound(id);
        const { record, body, queue } = found;
        if ((record.paused === '1') === paused) return (await get(id))!;
        if (paused) {
          const next = (await queueFor(queue).getJobScheduler(id))?.next;
          await queueFor(queue).removeJobScheduler(id);
          await records
            .batch()
            .set(k.schedule(id), { paused: 1, ...(next !== undefined ? { nextAt: next } : {}) })
            .exec();
          return (await get(id))!;
        }
        const planned = record.nextAt === undefined ? undefined : Number(record.nextAt);
        let next = planned;
        if (planned === undefined || planned <= now) {
          const due =
            planned === undefined
              ? { fire: [], next: nextFireAfter(body.timing, now) }
              : firesDue(body.timing, planned, now);
          next = due.next;
          if (due.fire[0] !== undefined) await fireNow(id, body, record.lastJobId, due.fire[0], now);
        }
        await records
          .batch()
          .unset(k.schedule(id), 'nextAt')
          .set(k.schedule(id), { paused: 0, ...(next !== undefined ? { from: next } : {}) })
          .exec();
        if (next !== undefined) await plan(id, body, queue, next);
        return (await get(id))!;
      });
    },

    remove(id) {
      return underLeaseLock(async () => {
        const found = await read(id);
        if (!found) throw notFound(id);
        // BullMQ's scheduler first: a record left without one is still listed, and can be removed again.
        await queueFor(found.queue).removeJobScheduler(id);
        await records.batch().drop(k.schedule(id)).removeScored(k.schedules, id).exec();
      });
    },
  };

  return {
    store,

    /**
     * Makes a fire BullMQ's job scheduler handed to a lease a cadre job, or drops it: its schedule was
     * removed or paused since, it was missed under `missed: 'skip'`, or the previous fire's job is still
     * going under `overlap: false` (counted in `skipped`). Runs under the lease lock; true when the job
     * is cadre's to lease. BullMQ has planned the next fire already, from now on.
     */
    async adopt(bull: BullJob<Fields>, token: string, now: number): Promise<boolean> {
      const id = bull.id!;
      // Adopted before, then handed back (its lease ran out, or it was released).
      if ((await records.someFields(k.job(id), 'queue'))[0] !== undefined) return true;
      const scheduleId = bull.repeatJobKey!;
      const found = await read(scheduleId);
      const instant = instantOf(id);
      const drop = async () => {
        await bull.moveToCompleted(null, token, false);
        await bull.remove().catch(() => undefined);
        return false;
      };
      if (!found || found.record.paused === '1') return drop();
      const { record, body } = found;
      if (record.from !== undefined && instant < Number(record.from)) return drop();
      // Made due by BullMQ's clock while this lease's is behind: on time, not missed.
      const fire = instant > now ? instant : firesDue(body.timing, instant, now).fire[0];
      if (fire === undefined) return drop();
      if (!body.overlap && (await stillGoing(options, record.lastJobId))) {
        await records.batch().increment(k.schedule(scheduleId), 'skipped', 1).exec();
        return drop();
      }
      const fields: Fields = { ...bull.data, runId: createId('run'), createdAt: now };
      await bull.updateData(fields);
      await records
        .batch()
        .set(k.job(id), { queue: fields.queue, epoch: 0, attempts: 0, runAt: now, updatedAt: now })
        .addScored(k.created(), now, id)
        .addScored(k.created(fields.queue), now, id)
        .set(k.schedule(scheduleId), { lastFireAt: fire, lastJobId: id })
        .exec();
      return true;
    },

    /**
     * Moves fires that came due (by BullMQ's clock) to their queue's wait list: a lease over several
     * queues looks only at the heads of their wait lists. BullMQ promotes them itself in the queue it pops.
     */
    async promoteFires(names: string[]) {
      const scheduled = new Set(await records.members(k.scheduledQueues));
      for (const name of names.filter((n) => scheduled.has(n))) {
        // cadre's own delayed jobs wait until 2100: the earliest delayed jobs are fires, if any.
        for (let tries = 0; tries < 10; tries++) {
          const [head] = await queueFor(name).getJobs(['delayed'], 0, 0, true);
          if (!head?.id || !head.repeatJobKey || instantOf(head.id) > Date.now()) break;
          if (
            !(await head.promote().then(
              () => true,
              () => false,
            ))
          )
            break;
        }
      }
    },

    /** Fires planned for later in a queue: each waits as a BullMQ delayed job, which is no queued job yet. */
    async pendingFires(name: string): Promise<number> {
      if (!(await records.has(k.scheduledQueues, name))) return 0;
      const now = Date.now();
      return (await queueFor(name).getJobSchedulers()).filter((s) => s.next !== undefined && s.next > now).length;
    },
  };
}
