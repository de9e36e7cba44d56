import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import type { Job as BullJob, PostgresConnectionOptions, Queue, Worker } from 'bullmq';
import type * as IORedis from 'ioredis';
import type { RedisOptions } from 'ioredis';
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
import {
  bullPriority,
  bullmqKeys,
  countTypes,
  hold,
  isLost,
  leaseOrder,
  limitOf,
  ownerOf,
  settledJob,
  toJob,
  type Fields,
  type SideRecord,
} from './bullmq-job-record.js';
import { createBullmqSchedules, cronRepeatStrategy, type BullmqScheduleStore } from './bullmq-schedules.js';
import { postgresRecords } from './postgres-queue-records.js';
import { redisRecords, type QueueRecords } from './queue-records.js';
import type { WebhookOutbox } from './webhook-outbox.js';

/** Where {@link createBullmqJobQueue} keeps its jobs and records, and how it names its keys. */
export interface BullmqJobQueueOptions {
  /**
   * Redis, as a `redis://` URL or ioredis options: BullMQ's jobs (unless `postgres`) and cadre's record
   * beside each job. Without it, both are in the PostgreSQL of `postgres`.
   */
  connection?: string | RedisOptions;
  /**
   * Prefix of every key, BullMQ's and cadre's; default `cadre`. Two prefixes are two separate queues
   * (BullMQ's PostgreSQL backend ignores it: there, its `schema` separates them).
   */
  prefix?: string;
  /**
   * How often BullMQ's stalled-job check runs (ms); default 5 s. It returns to the queue a job whose
   * lock ran out while no cadre worker was leasing; leasing returns expired jobs by itself as well.
   */
  stalledIntervalMs?: number;
  /**
   * Floor of the Redis lock's duration (ms); default 0, so the lock lasts `leaseMs`. Only for tests
   * that drive time through the `now` arguments: a longer lock keeps Redis's clock out of their way.
   */
  minLockMs?: number;
  /**
   * Keeps BullMQ's jobs in PostgreSQL through BullMQ's PostgreSQL backend instead of Redis; cadre's
   * record beside each job (epoch, attempts, team slots, the lease lock) stays in Redis at `connection`
   * if given, else goes to the same database (`recordsSchema`). That backend ignores `prefix`: give
   * each deployment a schema of its own (`{ connectionString, schema }`).
   */
  postgres?: PostgresConnectionOptions;
  /**
   * Without `connection`: the schema of cadre's records in the database of `postgres` (cadre's
   * migrated tables, as for runs); default the connection's search_path.
   */
  recordsSchema?: string;
  /** The source of backoff jitter; default `Math.random`. */
  random?: () => number;
  /**
   * Where the webhook messages of settled jobs go, delivered by the workers (`openJobQueue` passes the
   * outbox in cadre's database). Without one, a job with a `webhook` is refused, and a queue that
   * settles jobs sends no webhooks.
   */
  outbox?: WebhookOutbox;
}

/** The BullMQ queue, with `close()` for its connections. */
export interface BullmqJobQueue extends JobQueue {
  /** The outbox its settles write webhook messages to, if it was given one. */
  readonly outbox?: WebhookOutbox;
  /**
   * The schedules on this queue, as BullMQ job schedulers: every process on the same Redis (and
   * prefix) sees them, and each fire instant is one job, whichever worker leases it.
   */
  readonly schedules: BullmqScheduleStore;
  /** Queued jobs by queue, as `counts().queued` reckons them (for `/metrics`). */
  depths(): Promise<Record<string, number>>;
  /** When each worker holding a job last renewed one of its leases, in ms (for `/metrics`). */
  leaseRenewals(): Promise<{ worker: string; renewed: number }[]>;
  /** Closes BullMQ's queues and workers and the connections; jobs and leases stay where they are. */
  close(): Promise<void>;
}

// BullMQ and ioredis (about 140 ms to load) load when a queue is made, not with `cadre/jobs`: the
// embedded queue needs neither. Both are CommonJS packages, so a plain require loads them.
const loadPackage = createRequire(import.meta.url);

// A webhook message is written before BullMQ settles its job, held back this long in case the process
// dies before the settle is done, and let go as soon as it is.
const messageHoldMs = 30_000;

/**
 * A {@link JobQueue} on BullMQ (Redis, or PostgreSQL through BullMQ's backend): BullMQ keeps the
 * jobs, their order by priority, the lease as a lock with a token (a stale token can neither extend
 * nor finish the job), stalled-job recovery, pause/resume and counts. cadre keeps beside each job what BullMQ has no notion of: the lease epoch
 * (a counter that grows by one with every lease), attempts, runAt, results, decisions, team slots.
 * Leasing runs under a short lock, so team limits hold over every process. cadre's records are in
 * Redis at `connection`, else in the PostgreSQL of `postgres`: with only PostgreSQL, one engine.
 */
export function createBullmqJobQueue(options: BullmqJobQueueOptions): BullmqJobQueue {
  const { Job: BullJob, Queue, Worker, createPostgresBackend } = loadPackage('bullmq') as typeof BullMQ;
  const prefix = options.prefix ?? 'cadre';
  const random = options.random ?? Math.random;
  const minLockMs = options.minLockMs ?? 0;
  const outbox = options.outbox;
  const { records, unreachable } = openRecords(options);
  // BullMQ's jobs are in PostgreSQL (`postgres`, its own pools), else in the records' Redis.
  const redis = records.redis;
  const k = bullmqKeys(prefix);
  const queues = new Map<string, Queue<Fields>>();
  // Schedules' crons fire where croner puts them, on the queue (which plans the first fire) and on the
  // worker (which plans each next one as it hands a fire out).
  const settings = { repeatStrategy: cronRepeatStrategy };
  const workers = new Map<string, Worker<Fields>>();
  const queueFor = (name: string) => {
    let queue = queues.get(name);
    if (!queue)
      queues.set(
        name,
        (queue = options.postgres
          ? (new Queue(
              name,
              { connection: options.postgres, prefix, settings },
              createPostgresBackend,
            ) as unknown as Queue<Fields>)
          : new Queue<Fields>(name, { connection: redis!, prefix, settings })),
      );
    return queue;
  };
  // BullMQ hands out jobs through a Worker; one per queue, never run, used only for getNextJob.
  const workerFor = (name: string) => {
    let worker = workers.get(name);
    if (!worker) {
      const workerSettings = {
        prefix,
        settings,
        autorun: false,
        skipLockRenewal: true,
        stalledInterval: options.stalledIntervalMs ?? 5000,
        // cadre decides when a job that keeps losing its lease is dead (lease_expired), not BullMQ; the
        // largest PostgreSQL integer, as BullMQ's PostgreSQL backend passes it to SQL.
        maxStalledCount: 2_147_483_647,
      };
      worker = options.postgres
        ? (new Worker(
            name,
            null,
            { ...workerSettings, connection: options.postgres },
            createPostgresBackend,
          ) as unknown as Worker<Fields>)
        : new Worker<Fields>(name, null, { ...workerSettings, connection: redis! });
      workers.set(name, worker);
      void worker.startStalledCheckTimer();
    }
    return worker;
  };
  const load = async (id: string) => {
    const record = (await records.fields(k.job(id))) as SideRecord;
    if (!record.queue) return undefined;
    const bull = (await BullJob.fromId(queueFor(record.queue), id)) as BullJob<Fields> | undefined;
    return bull ? { record, bull } : undefined;
  };

  const get = async (id: string): Promise<Job | undefined> => {
    const found = await load(id);
    if (!found) return undefined;
    return toJob(id, found.record, found.bull.data, await found.bull.getState());
  };

  /** Promotes held jobs in lease order, so BullMQ's first-come order within a priority is runAt, then age. */
  const promote = async (ids: string[]) => {
    const found = (await Promise.all(ids.map(async (id) => ({ id, found: await load(id) })))).flatMap(
      ({ id, found }) =>
        found ? [{ id, f: found.bull.data, runAt: Number(found.record.runAt), bull: found.bull }] : [],
    );
    for (const { id, bull } of found.sort(leaseOrder)) {
      // BullMQ's own stalled or delayed handling may have moved it already: then there is nothing to do.
      await bull.promote().catch(() => undefined);
      await records.batch().removeScored(k.due, id).unset(k.job(id), 'hold').exec();
    }
  };

  /** Held jobs whose runAt has come by the caller's clock (`now`), not Redis's. */
  const dueBy = (now: number) => records.upTo(k.due, now);
  /** Queues every held job whose runAt has come. */
  const promoteDue = async (now: number) => promote(await dueBy(now));

  /** Jobs whose lease ran out by `now`. */
  const expiredBy = (now: number) => records.upTo(k.leases, now, true);
  /** Hands back to BullMQ's wait list each of `expired` whose lease still ran out, keeping its token as the mark. */
  const expireLeases = async (expired: string[], now: number) => {
    for (const id of expired) {
      const found = await load(id);
      const until = Number(found?.record.leaseUntil ?? 0);
      if (found && until < now) {
        const token = found.record.token;
        // With the token the lock goes too; without (the lock already ran out) BullMQ skips the check.
        await found.bull.moveToWait(token).catch(() => found.bull.moveToWait());
      }
      await records.batch().removeScored(k.leases, id).exec();
    }
  };

  /** Lets parked jobs of `owners` compete again for teams that have room under this request's limits. */
  const unpark = async (owners: string[], request: LeaseRequest) => {
    for (const owner of owners) {
      const limit = request.teamLimits?.[owner.slice(owner.indexOf(':') + 1)];
      if (limit !== undefined && (await records.count(k.slots(owner))) >= limit) continue;
      const ids = await records.members(k.parked(owner));
      await records.batch().drop(k.parked(owner)).remove(k.parkedOwners, owner).exec();
      await promote(ids);
    }
  };

  /** Of several queues, the one whose next job comes first in lease order. */
  const firstQueue = async (names: string[]) => {
    if (names.length <= 1) return names[0];
    const heads = await Promise.all(
      names.map(async (name) => {
        const [head] = await queueFor(name).getJobs(['prioritized', 'wait'], 0, 0, true);
        const runAt = head ? Number((await records.someFields(k.job(head.id!), 'runAt'))[0]) : 0;
        return head ? [{ name, id: head.id!, f: head.data, runAt }] : [];
      }),
    );
    return heads.flat().sort(leaseOrder)[0]?.name;
  };

  /**
   * Tells idle workers in every process (see `watch`) that a job may be ready. Not awaited: a lost
   * message costs a poll interval, never a job.
   */
  const wake = () => records.publish(k.wake);

  // One lease at a time over every process: team slots are counted and taken under it.
  let chain: Promise<unknown> = Promise.resolve();
  const underLeaseLock = <T>(body: () => Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      const token = randomUUID();
      while (!(await records.lock(k.lock, token, 10_000))) await new Promise((resolve) => setTimeout(resolve, 2));
      try {
        return await body();
      } finally {
        await records.unlock(k.lock, token);
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };

  /**
   * A settle that stopped between BullMQ's move and cadre's record (a process killed there) leaves its
   * team slot taken: a slot belongs to a job that is active, or back in the wait list after its lease
   * ran out. Frees the others; returns how many slots are taken.
   */
  const freeSlots = async (owner: string) => {
    const ids = await records.members(k.slots(owner));
    const states = await Promise.all(ids.map(async (id) => (await load(id))?.bull.getState()));
    const stale = ids.filter((_, i) => !['active', 'waiting', 'prioritized'].includes(states[i] ?? ''));
    if (stale.length)
      await records
        .batch()
        .remove(k.slots(owner), ...stale)
        .exec();
    return ids.length - stale.length;
  };

  const fires = createBullmqSchedules({
    records,
    keys: k,
    queueFor,
    underLeaseLock,
    get,
    enqueue: (input, now) => queue.enqueue(input, now),
    hasOutbox: outbox !== undefined,
  });

  /**
   * Decides what to do with a job BullMQ just made active: a schedule's fire adopted or dropped,
   * cancelled, parked behind its team's limit, dead after losing its last lease, or leased (epoch + 1).
   */
  const take = async (bull: BullJob<Fields>, token: string, request: LeaseRequest, now: number) => {
    const id = bull.id!;
    if (bull.repeatJobKey && !(await fires.adopt(bull, token, now))) return undefined;
    const record = (await records.fields(k.job(id))) as SideRecord;
    const fields = bull.data;
    const owner = ownerOf(fields);
    const clearLease = () =>
      records
        .batch()
        .unset(k.job(id), 'token', 'worker', 'leaseUntil')
        .set(k.job(id), { updatedAt: now })
        .remove(k.slots(owner), id)
        .removeScored(k.leases, id);
    if (record.cancel || record.hold === 'cancelled') {
      // Cancelled while queued, or while running on a worker that vanished: nobody is left to stop it.
      await bull.moveToDelayed(hold, token);
      await clearLease().set(k.job(id), { hold: 'cancelled' }).add(k.held('cancelled'), id).exec();
      return undefined;
    }
    const limit = limitOf(request, fields);
    if (limit !== undefined) {
      const [taken, self] = await Promise.all([records.count(k.slots(owner)), records.has(k.slots(owner), id)]);
      if (taken - Number(self) >= limit && (await freeSlots(owner)) - Number(self) >= limit) {
        await bull.moveToDelayed(hold, token);
        await clearLease()
          .set(k.job(id), { hold: 'parked' })
          .add(k.parked(owner), id)
          .add(k.parkedOwners, owner)
          .exec();
        return undefined;
      }
    }
    if (record.token && Number(record.attempts) >= fields.retry.attempts) {
      // Its last lease ran out: a job that kills its worker every time must stop.
      const error = {
        code: 'lease_expired',
        message: `The worker running attempt ${record.attempts} stopped answering`,
      };
      await bull.moveToFailed(new Error(error.message), token, false);
      await clearLease()
        .set(k.job(id), { error: JSON.stringify(error) })
        .exec();
      return undefined;
    }
    const leaseUntil = now + request.leaseMs;
    const results = await records
      .batch()
      .increment(k.job(id), 'epoch', 1)
      .increment(k.job(id), 'attempts', 1)
      .set(k.job(id), { token, worker: request.worker, leaseUntil, updatedAt: now })
      .addScored(k.leases, leaseUntil, id)
      .add(k.slots(owner), id)
      .fields(k.job(id))
      .exec();
    const leased = results[5] as SideRecord;
    return { job: toJob(id, leased, fields, 'active'), epoch: Number(leased.epoch) };
  };

  const change = async (id: string, from: JobState[], verb: string) => {
    const found = await load(id);
    if (!found) throw new CadreError('job_not_found', `No job ${id}`, { details: { id } });
    const job = toJob(id, found.record, found.bull.data, await found.bull.getState());
    if (!from.includes(job.state))
      throw new CadreError(
        'input_invalid',
        `Job ${id} is ${job.state}; only a ${from.join(' or ')} job can be ${verb}`,
        {
          details: { id, state: job.state },
        },
      );
    return { ...found, job };
  };

  const queue: BullmqJobQueue = {
    ...(outbox ? { outbox } : {}),
    schedules: fires.store,

    async enqueue(input: JobInput, now = Date.now()) {
      const checked = checkJobInput(input, now);
      if (checked.webhook !== undefined && !outbox)
        throw new CadreError(
          'config_invalid',
          'This BullMQ job queue has no webhook outbox: pass `outbox` to createBullmqJobQueue, or open it with openJobQueue',
        );
      const { queue: queueName = 'default', runAt = now, retry, ...rest } = checked;
      // The same dedupe key names the same job: BullMQ refuses a second job of one id.
      const id = checked.dedupeKey
        ? `job_d${createHash('sha256').update(checked.dedupeKey).digest('hex').slice(0, 32)}`
        : createId('job');
      if (!(await records.setIfUnset(k.job(id), 'queue', queueName))) {
        for (let tries = 0; tries < 50; tries++) {
          const existing = await get(id);
          if (existing) return { job: existing, created: false };
          // Another process is adding it at this moment.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new CadreError('internal', `Job ${id} of dedupe key ${checked.dedupeKey} was never completed`);
      }
      const fields: Fields = {
        ...rest,
        queue: queueName,
        priority: checked.priority ?? 0,
        runId: createId('run'),
        retry: { ...defaultRetry, ...retry },
        createdAt: now,
      };
      const due = runAt > now;
      const write = records
        .batch()
        .set(k.job(id), { epoch: 0, attempts: 0, runAt, updatedAt: now, ...(due ? { hold: 'due' } : {}) })
        .add(k.queues, queueName)
        .addScored(k.created(), now, id)
        .addScored(k.created(queueName), now, id);
      await (due ? write.addScored(k.due, runAt, id) : write).exec();
      // Jobs that came due before this one go ahead of it.
      if (!due) await promoteDue(now);
      try {
        await queueFor(queueName).add('run', fields, {
          jobId: id,
          priority: bullPriority(fields.priority),
          attempts: 1,
          ...(due ? { delay: hold - Date.now() } : {}),
        });
      } catch (error) {
        // Not left half-made: the dedupe key must stay free for the next try.
        await records
          .batch()
          .drop(k.job(id))
          .removeScored(k.created(), id)
          .removeScored(k.created(queueName), id)
          .removeScored(k.due, id)
          .exec();
        throw error;
      }
      if (!due) wake();
      return { job: (await get(id))!, created: true };
    },

    lease(request: LeaseRequest): Promise<LeasedJob | undefined> {
      const now = request.now ?? Date.now();
      return underLeaseLock(async () => {
        // What the lease looks at, read in one round trip; each part is acted on in order below.
        const [expired, due, parkedOwners, pausedNames, queueNames] = await Promise.all([
          expiredBy(now),
          dueBy(now),
          records.members(k.parkedOwners),
          records.members(k.paused),
          request.queues ?? records.members(k.queues),
        ]);
        if (expired.length) await expireLeases(expired, now);
        if (due.length) await promote(due);
        if (parkedOwners.length) await unpark(parkedOwners, request);
        const paused = new Set(pausedNames);
        let names = queueNames.filter((name) => !paused.has(name));
        if (names.length > 1) await fires.promoteFires(names);
        for (let name = await firstQueue(names); name !== undefined; name = await firstQueue(names)) {
          const token = `${request.worker}:${randomUUID()}`;
          const worker = workerFor(name);
          // The lock is the lease as BullMQ sees it: it runs out after leaseMs without a heartbeat.
          worker.opts.lockDuration = Math.max(request.leaseMs, minLockMs);
          const bull = await worker.getNextJob(token, { block: false });
          if (!bull) {
            names = names.filter((n) => n !== name);
            continue;
          }
          const leased = await take(bull, token, request, now);
          if (leased) return leased;
        }
        return undefined;
      });
    },

    async heartbeat(id, epoch, leaseMs, now = Date.now()) {
      const [held, token, cancel, queueName] = await records.someFields(k.job(id), 'epoch', 'token', 'cancel', 'queue');
      if (Number(held) !== epoch || !token || !queueName) return 'lost';
      const bull = new BullJob<Fields>(queueFor(queueName), 'run', {} as Fields, {}, id);
      if (!(await bull.extendLock(token, Math.max(leaseMs, minLockMs)))) return 'lost';
      await records
        .batch()
        .set(k.job(id), { leaseUntil: now + leaseMs, updatedAt: now })
        .addScored(k.leases, now + leaseMs, id)
        .exec();
      return cancel ? 'cancelled' : 'held';
    },

    async settle(id, epoch, outcome: JobOutcome, now = Date.now()) {
      const found = await load(id);
      if (!found || Number(found.record.epoch) !== epoch || !found.record.token) return undefined;
      const { record, bull } = found;
      const token = record.token!;
      const attempts = Number(record.attempts);
      const again = outcome.kind === 'failed' && outcome.retry !== false && attempts < bull.data.retry.attempts;
      const settled =
        bull.data.webhook && outbox ? settledJob(toJob(id, record, bull.data, 'active'), outcome, again) : undefined;
      const message = settled && outbox?.add(settled.job, settled.event, now, messageHoldMs);
      const owner = ownerOf(bull.data);
      const write = records
        .batch()
        .unset(k.job(id), 'token', 'worker', 'leaseUntil', 'decision')
        .removeScored(k.leases, id)
        .remove(k.slots(owner), id)
        // Jobs parked behind this team's limit may go now that its slot is free.
        .has(k.parkedOwners, owner);
      const patch: Record<string, string | number> = { updatedAt: now };
      // The BullMQ state each move leaves the job in: the job this settle returns is built from it.
      let bullState: 'completed' | 'wait' | 'delayed' | 'failed' = 'delayed';
      try {
        switch (outcome.kind) {
          case 'completed':
            await bull.moveToCompleted(outcome.result, token, false);
            bullState = 'completed';
            patch.result = JSON.stringify(outcome.result);
            write.unset(k.job(id), 'error');
            break;
          case 'waiting':
            await bull.moveToDelayed(hold, token);
            Object.assign(patch, { result: JSON.stringify(outcome.result), hold: 'waiting' });
            write.add(k.held('waiting'), id);
            break;
          case 'released':
            await bull.moveToWait(token);
            bullState = 'wait';
            Object.assign(patch, { attempts: attempts - 1, runAt: now });
            break;
          case 'cancelled':
            await bull.moveToDelayed(hold, token);
            patch.hold = 'cancelled';
            write.add(k.held('cancelled'), id);
            break;
          case 'failed': {
            patch.error = JSON.stringify(outcome.error);
            if (again) {
              const runAt = now + backoffDelay(bull.data.retry, attempts, random);
              await bull.moveToDelayed(hold, token);
              Object.assign(patch, { runAt, hold: 'due' });
              write.addScored(k.due, runAt, id);
            } else {
              await bull.moveToFailed(new Error(outcome.error.message), token, false);
              bullState = 'failed';
            }
          }
        }
      } catch (error) {
        if (message) outbox?.discard(message);
        if (isLost(error)) return undefined;
        throw error;
      }
      const results = await write.set(k.job(id), patch).exec();
      if (outcome.kind === 'released' || results[3] === true) wake();
      if (message) outbox?.release(message, now);
      // The job as this settle left it, from what it read and wrote: no read back.
      const { token: _token, worker: _worker, leaseUntil: _until, decision: _decision, ...kept } = record;
      const after: SideRecord = { ...kept, ...(patch as Record<string, string>) };
      if (outcome.kind === 'completed') delete after.error;
      return toJob(id, after, bull.data, bullState);
    },

    get,

    async list(filter: JobFilter = {}) {
      const limit = filter.limit ?? 100;
      const jobs: Job[] = [];
      for (let start = 0; jobs.length < limit; start += 200) {
        const ids = await records.range(k.created(filter.queue), start, start + 199, true);
        if (ids.length === 0) break;
        for (const job of await Promise.all(ids.map(get)))
          if (job && (filter.state === undefined || job.state === filter.state)) jobs.push(job);
      }
      return jobs.slice(0, limit);
    },

    retry(id, now = Date.now()) {
      // Retry, cancel and answer run under the lease lock: the job they change is not being leased meanwhile.
      return underLeaseLock(async () => {
        const { bull, job } = await change(id, ['dead', 'cancelled'], 'retried');
        if (job.state === 'dead') await bull.retry('failed');
        // A cancelled job sits in the delayed set, or still in the wait list when cancelled there.
        else await bull.promote().catch(() => undefined);
        await records
          .batch()
          .unset(k.job(id), 'error', 'cancel', 'hold')
          .set(k.job(id), { attempts: 0, runAt: now, updatedAt: now })
          .remove(k.held('cancelled'), id)
          .exec();
        wake();
        return (await get(id))!;
      });
    },

    cancel(id, now = Date.now()) {
      return underLeaseLock(async () => {
        const { bull, job } = await change(id, ['queued', 'waiting', 'running'], 'cancelled');
        if (job.state === 'running') await records.batch().set(k.job(id), { cancel: 1, updatedAt: now }).exec();
        else {
          // A job in BullMQ's wait list stays there until leasing pops it and moves it aside.
          const owner = ownerOf(bull.data);
          await records
            .batch()
            .unset(k.job(id), 'token', 'worker', 'leaseUntil')
            .set(k.job(id), { hold: 'cancelled', updatedAt: now })
            .removeScored(k.due, id)
            .removeScored(k.leases, id)
            .remove(k.slots(owner), id)
            .remove(k.parked(owner), id)
            .remove(k.held('waiting'), id)
            .add(k.held('cancelled'), id)
            .exec();
        }
        return (await get(id))!;
      });
    },

    answer(id, decision, now = Date.now()) {
      return underLeaseLock(async () => {
        const { bull } = await change(id, ['waiting'], 'answered');
        await bull.promote();
        await records
          .batch()
          .unset(k.job(id), 'hold')
          .set(k.job(id), { decision: JSON.stringify(decision), runAt: now, updatedAt: now })
          .remove(k.held('waiting'), id)
          .exec();
        wake();
        return (await get(id))!;
      });
    },

    async pause(queue) {
      await records.batch().add(k.paused, queue).add(k.queues, queue).exec();
      await queueFor(queue).pause();
    },

    async resume(queue) {
      await records.batch().remove(k.paused, queue).exec();
      await queueFor(queue).resume();
      wake();
    },

    watch(onWork) {
      let pending = false;
      return records.subscribe(k.wake, () => {
        // A burst of messages makes one wake-up.
        if (pending) return;
        pending = true;
        setImmediate(() => {
          pending = false;
          onWork();
        });
      });
    },

    paused: () => records.members(k.paused),

    async counts() {
      const counts = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>;
      for (const name of await records.members(k.queues)) {
        const bull = await queueFor(name).getJobCounts(...countTypes, 'active', 'completed', 'failed');
        // A schedule's next fire waits in BullMQ's delayed set; it is no job until it comes due.
        counts.queued +=
          countTypes.reduce((sum, type) => sum + (bull[type] ?? 0), 0) - (await fires.pendingFires(name));
        counts.running += bull.active ?? 0;
        counts.completed += bull.completed ?? 0;
        counts.dead += bull.failed ?? 0;
      }
      // Waiting and cancelled jobs are BullMQ jobs held back (delayed) or not yet moved aside (wait).
      counts.waiting = await records.count(k.held('waiting'));
      counts.cancelled = await records.count(k.held('cancelled'));
      counts.queued -= counts.waiting + counts.cancelled;
      return counts;
    },

    async depths() {
      const depths: Record<string, number> = {};
      for (const name of await records.members(k.queues)) {
        const bull = await queueFor(name).getJobCounts(...countTypes);
        depths[name] = countTypes.reduce((sum, type) => sum + (bull[type] ?? 0), 0) - (await fires.pendingFires(name));
      }
      // Less the jobs held back as waiting or cancelled, each in its own queue.
      const held = [...(await records.members(k.held('waiting'))), ...(await records.members(k.held('cancelled')))];
      const names = await Promise.all(held.map(async (id) => (await records.someFields(k.job(id), 'queue'))[0]));
      for (const name of names) if (name !== undefined && name in depths) depths[name]!--;
      return depths;
    },

    async leaseRenewals() {
      const ids = await records.range(k.leases, 0, -1);
      const rows = await Promise.all(ids.map((id) => records.someFields(k.job(id), 'worker', 'updatedAt')));
      const renewed = new Map<string, number>();
      for (const [worker, updatedAt] of rows)
        if (worker && updatedAt) renewed.set(worker, Math.max(renewed.get(worker) ?? 0, Number(updatedAt)));
      return [...renewed].map(([worker, at]) => ({ worker, renewed: at }));
    },

    async close() {
      await Promise.all([...workers.values()].map((worker) => worker.close()));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await records.close();
    },
  };
  for (const target of [queue, fires.store]) {
    const methods = target as unknown as Record<string, unknown>;
    for (const [name, method] of Object.entries(methods))
      if (typeof method === 'function' && name !== 'close' && name !== 'watch')
        methods[name] = (...args: unknown[]) =>
          (method as (...a: unknown[]) => Promise<unknown>)(...args).catch((error: unknown) => {
            throw unreachable(error);
          });
  }
  return queue;
}

/**
 * cadre's records of a queue — in Redis at `connection`, else in the PostgreSQL of `postgres` — and
 * what a failure becomes: on Redis, a connection that never came up is `unavailable`, naming the
 * server (the PostgreSQL records say so themselves).
 */
function openRecords(options: BullmqJobQueueOptions): {
  records: QueueRecords & { redis?: IORedis.Redis };
  unreachable: (error: unknown) => unknown;
} {
  const { connection } = options;
  if (connection === undefined) {
    const postgres = options.postgres;
    const url = typeof postgres === 'string' ? postgres : (postgres as { connectionString?: string })?.connectionString;
    if (!url)
      throw new CadreError(
        'config_invalid',
        'A BullMQ job queue needs a Redis `connection`, or `postgres` with a connectionString for its jobs and records',
        { details: { field: 'connection' } },
      );
    const schema = options.recordsSchema;
    return { records: postgresRecords({ url, ...(schema !== undefined ? { schema } : {}) }), unreachable: (e) => e };
  }
  const { Redis } = loadPackage('ioredis') as typeof IORedis;
  let connected = false;
  let lastError: Error | undefined;
  const redisOptions = {
    // No connection until the queue is used: opening a queue that is never used costs nothing.
    lazyConnect: true,
    // Once connected, a lost connection is retried for ever (a Redis restart must not stop a worker);
    // one that never came up is given up after a few tries, so a wrong address is an error, not a hang.
    retryStrategy: (times: number) => (connected || times < 4 ? Math.min(times * 200, 2000) : null),
  };
  const redis =
    typeof connection === 'string'
      ? new Redis(connection, { ...redisOptions, maxRetriesPerRequest: null })
      : new Redis({ ...redisOptions, ...connection, maxRetriesPerRequest: null });
  redis.on('ready', () => (connected = true));
  // Recorded for the error below; without a listener ioredis prints every failed reconnect.
  redis.on('error', (error: Error) => (lastError = error));
  const where =
    typeof connection === 'string'
      ? redisHost(connection)
      : `${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
  const unreachable = (error: unknown) =>
    connected || redis.status !== 'end'
      ? error
      : new CadreError(
          'unavailable',
          `Cannot reach Redis at ${where} for the job queue: ${lastError?.message ?? 'the connection closed'}`,
          { cause: error, details: { redis: where } },
        );
  return { records: { ...redisRecords(redis), redis }, unreachable };
}

/** `host:port` of a Redis URL, without its credentials. */
function redisHost(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname || '127.0.0.1'}:${port || 6379}`;
  } catch {
    return 'an unreadable URL';
  }
}
