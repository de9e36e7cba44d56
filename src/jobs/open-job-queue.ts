import type Database from 'better-sqlite3';
import { CadreError, loadConfig, type CadreConfig, type CadreConfigInput, type JobQueue } from '../core/index.js';
import { openConfiguredStore } from '../runtime/index.js';
import { checkSchemaName, parseUrl } from '../runtime/store/postgres/postgres-pool.js';
import { createBullmqJobQueue, type BullmqJobQueue } from './bullmq-job-queue.js';
import type { BullmqScheduleStore } from './bullmq-schedules.js';
import { ScheduleStore } from './schedules.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';

const queues = new WeakMap<object, SqliteJobQueue>();
const schedules = new WeakMap<object, ScheduleStore>();

/** The embedded queue of a database, one per connection. */
export function embeddedJobQueue(db: Database.Database): SqliteJobQueue {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = new SqliteJobQueue(db)));
  return queue;
}

/** Which queue a config names: `jobQueue` when set, else BullMQ when a server is named, else the embedded one. */
function jobQueueKind(config: CadreConfig): 'sqlite' | 'bullmq' {
  return config.jobQueue ?? (config.redisUrl || config.databaseUrl ? 'bullmq' : 'sqlite');
}

/**
 * The schema of BullMQ's tables for a queue on PostgreSQL alone: BullMQ's backend ignores key
 * prefixes, so each prefix (and each of cadre's schemas) gets one of its own.
 */
export function bullmqSchema(config: Pick<CadreConfig, 'databaseSchema' | 'jobQueuePrefix'>): string {
  const schema = `${config.databaseSchema ?? 'cadre'}_bullmq_${config.jobQueuePrefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  checkSchemaName(schema);
  return schema;
}

/**
 * The job queue a config names: `jobQueue` when set, else BullMQ when `redisUrl` or `databaseUrl` is
 * set, else the embedded queue. The embedded queue is the one in the configured database (one per
 * connection; closing it does nothing). A BullMQ queue is on `redisUrl` under `jobQueuePrefix`, or,
 * with only `databaseUrl`, wholly in PostgreSQL: BullMQ's jobs through its PostgreSQL backend in
 * {@link bullmqSchema}, cadre's records beside them in `databaseSchema` — one engine for runs and
 * queue. Its connections are made on first use: close it when done. Either way the webhook outbox is
 * in the configured database, where the workers deliver from. Throws `config_invalid` for
 * `jobQueue: 'bullmq'` with neither URL.
 */
export function openJobQueue(config: CadreConfigInput = {}): SqliteJobQueue | BullmqJobQueue {
  const loaded = loadConfig(config);
  // The embedded queue's tables are made either way: the outbox is one of them, and readers of the
  // store (metrics) expect the others.
  const embedded = embeddedJobQueue(openConfiguredStore(loaded).db);
  if (jobQueueKind(loaded) === 'sqlite') return embedded;
  const common = { prefix: loaded.jobQueuePrefix, outbox: embedded.outbox };
  if (loaded.redisUrl) return createBullmqJobQueue({ connection: loaded.redisUrl, ...common });
  if (loaded.databaseUrl)
    return createBullmqJobQueue({
      // BullMQ opens a pool for each queue and each worker of a queue: a few connections each.
      postgres: {
        connectionString: parseUrl(loaded.databaseUrl).href,
        schema: bullmqSchema(loaded),
        migrate: true,
        max: 4,
      },
      ...(loaded.databaseSchema !== undefined ? { recordsSchema: loaded.databaseSchema } : {}),
      ...common,
    });
  throw new CadreError(
    'config_invalid',
    'jobQueue is `bullmq` but neither redisUrl (CADRE_REDIS_URL) nor databaseUrl (CADRE_DATABASE_URL) is set',
    { details: { field: 'redisUrl' } },
  );
}

/**
 * The embedded schedules: those in the configured database, one store per connection. Whatever the
 * queue, the workers of this database fire them; on BullMQ, {@link schedulesOf} gives the schedules
 * every machine on the Redis shares.
 */
export function openScheduleStore(config: CadreConfigInput = {}): ScheduleStore {
  const { db } = openConfiguredStore(loadConfig(config));
  let store = schedules.get(db);
  if (!store) schedules.set(db, (store = new ScheduleStore(db)));
  return store;
}

/**
 * The schedules that go with a queue: a BullMQ queue's own (BullMQ job schedulers in its Redis, seen
 * and fired once per instant by every machine on it), else the embedded ones of the config's database.
 */
export function schedulesOf(queue: JobQueue, config: CadreConfigInput = {}): ScheduleStore | BullmqScheduleStore {
  const schedules = (queue as Partial<BullmqJobQueue>).schedules;
  return schedules ?? openScheduleStore(config);
}
