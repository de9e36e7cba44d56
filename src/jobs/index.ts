/**
 * Long-running jobs: a durable queue, schedules and workers. Jobs live in the same database as runs
 * (embedded by default) or in BullMQ — on Redis (`redisUrl`, `CADRE_REDIS_URL`), or with only
 * `databaseUrl` on PostgreSQL through BullMQ's PostgreSQL backend; workers in any number of
 * processes lease them, fenced so a worker that lost its lease can never finish a run a second time.
 *
 * @module cadre/jobs
 */
export { enqueue, schedule, type EnqueueOptions } from './enqueue.js';
export { ScheduleStore, type Schedule, type ScheduleInput, type ScheduledJob } from './schedules.js';
export { createWorker, type Worker, type WorkerEvent, type WorkerOptions } from './worker.js';
export { bullmqSchema, openJobQueue, openScheduleStore, schedulesOf } from './open-job-queue.js';
export type { BullmqScheduleStore } from './bullmq-schedules.js';
export { WebhookOutbox, type WebhookEvent, type WebhookMessage } from './webhook-outbox.js';
export { signWebhook } from './webhook-sender.js';
export { SqliteJobQueue } from './sqlite-job-queue.js';
export { createBullmqJobQueue, type BullmqJobQueue, type BullmqJobQueueOptions } from './bullmq-job-queue.js';
export type { QueueRecords, RecordBatch } from './queue-records.js';
export { JobFieldsSchema, backoffDelay, defaultRetry, withOneTeamOrAgent } from './job-input.js';
export { checkScheduleTiming, firesDue, nextFireAfter, type ScheduleTiming } from './schedule-timing.js';
export type {
  Job,
  JobBudget,
  JobError,
  JobFilter,
  JobInput,
  JobOutcome,
  JobQueue,
  JobState,
  LeasedJob,
  LeaseRequest,
  RetryPolicy,
} from '../core/index.js';
