import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  SqliteJobQueue,
  bullmqSchema,
  createBullmqJobQueue,
  createWorker,
  enqueue,
  openJobQueue,
  type BullmqJobQueue,
} from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';
import { deleteRedisPrefix } from '../fixtures/redis-keys.js';
import { startWebhookReceiver } from '../fixtures/webhook-receiver.js';
import { postgresSchemas } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_REDIS_URL;
const databaseUrl = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'BullMQ chosen by config: tests that run jobs skipped: set CADRE_REDIS_URL (e.g. redis://127.0.0.1:6379)\n',
  );
if (!databaseUrl)
  process.stdout.write(
    'BullMQ on PostgreSQL alone chosen by config: tests that run jobs skipped: set CADRE_DATABASE_URL (postgres://…)\n',
  );

const database = () => join(mkdtempSync(join(tmpdir(), 'cadre-open-queue-')), 'cadre.db');
afterEach(() => void vi.unstubAllEnvs());

/** Deletes every key a queue made under its prefix. */
const flush = (prefix: string) => deleteRedisPrefix(url!, prefix);

describe('openJobQueue picks the queue by the config', () => {
  it('the embedded queue by default, BullMQ once CADRE_REDIS_URL is set, the embedded one again with CADRE_JOB_QUEUE=sqlite or in code', async () => {
    vi.stubEnv('CADRE_REDIS_URL', '');
    vi.stubEnv('CADRE_DATABASE_URL', '');
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    expect(openJobQueue({ databasePath: database() })).toBeInstanceOf(SqliteJobQueue);

    // A port nothing listens on: the queue is BullMQ's on that address, which says so when first used.
    vi.stubEnv('CADRE_REDIS_URL', 'redis://127.0.0.1:1');
    const bullmq = openJobQueue({ databasePath: database() });
    expect(bullmq).not.toBeInstanceOf(SqliteJobQueue);
    await expect(bullmq.list()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('Cannot reach Redis at 127.0.0.1:1') as unknown,
      details: { redis: '127.0.0.1:1' },
    });
    await bullmq.close();

    vi.stubEnv('CADRE_JOB_QUEUE', 'sqlite');
    expect(openJobQueue({ databasePath: database() })).toBeInstanceOf(SqliteJobQueue);
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    expect(openJobQueue({ databasePath: database(), jobQueue: 'sqlite' })).toBeInstanceOf(SqliteJobQueue);
  });

  it('BullMQ on PostgreSQL once only CADRE_DATABASE_URL is set, saying which server it cannot reach', async () => {
    vi.stubEnv('CADRE_REDIS_URL', '');
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    vi.stubEnv('CADRE_DATABASE_URL', 'postgres://127.0.0.1:1/jobs');
    const queue = openJobQueue({ databasePath: database() });
    expect(queue).not.toBeInstanceOf(SqliteJobQueue);
    await expect(queue.enqueue({ agent: 'echo', goal: 'x' })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('Cannot reach PostgreSQL at 127.0.0.1:1/jobs for the job queue') as unknown,
      details: { postgres: '127.0.0.1:1/jobs' },
    });
    await queue.close();
    // Each prefix and schema has BullMQ's tables to itself: its backend has no key prefix.
    expect(bullmqSchema({ jobQueuePrefix: 'cadre' })).toBe('cadre_bullmq_cadre');
    expect(bullmqSchema({ databaseSchema: 'ops', jobQueuePrefix: 'Team-A.v2' })).toBe('ops_bullmq_team_a_v2');
    expect(() => bullmqSchema({ databaseSchema: 'x'.repeat(55), jobQueuePrefix: 'cadre' })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });

  it('refuses a URL that is not redis://, BullMQ without a URL, and an unknown queue, naming the field and variable', () => {
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    vi.stubEnv('CADRE_REDIS_URL', 'http://127.0.0.1:6379');
    expect(() => openJobQueue({ databasePath: database() })).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringContaining('redisUrl (from CADRE_REDIS_URL)') as unknown,
      }),
    );
    vi.stubEnv('CADRE_REDIS_URL', '');
    vi.stubEnv('CADRE_DATABASE_URL', '');
    vi.stubEnv('CADRE_JOB_QUEUE', 'bullmq');
    expect(() => openJobQueue({ databasePath: database() })).toThrow(
      expect.objectContaining({ code: 'config_invalid', details: { field: 'redisUrl' } }),
    );
    vi.stubEnv('CADRE_JOB_QUEUE', 'rabbitmq');
    expect(() => openJobQueue({ databasePath: database() })).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringContaining('jobQueue (from CADRE_JOB_QUEUE)') as unknown,
      }),
    );
  });

  it('a BullMQ queue made in code without an outbox refuses a job with a webhook, before reaching Redis', async () => {
    const queue = createBullmqJobQueue({ connection: 'redis://127.0.0.1:1' });
    await expect(queue.enqueue({ agent: 'echo', goal: 'x', webhook: 'http://127.0.0.1:9/hook' })).rejects.toMatchObject(
      { code: 'config_invalid', message: expect.stringContaining('outbox') as unknown },
    );
    await queue.close();
  });
});

describe.skipIf(!url)('jobs on the BullMQ queue CADRE_REDIS_URL picks, with webhooks', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let host = '';
  const prefixes: string[] = [];
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    ({ host } = receiver);
  });
  afterAll(async () => {
    await receiver.close();
    for (const prefix of prefixes) await flush(prefix);
  });

  /** A database of its own, and a queue prefix of its own, picked through the environment as a user would. */
  const fresh = () => {
    const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    vi.stubEnv('CADRE_REDIS_URL', url!);
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    vi.stubEnv('CADRE_JOB_QUEUE_PREFIX', prefix);
    return { databasePath: database(), webhookSecret: secret, webhookHosts: [host] };
  };
  const messagesFor = (jobId: string) =>
    receiver.received
      .map((r) => JSON.parse(r.body) as { type: string; data: { jobId: string; state: string; attempts: number } })
      .filter((m) => m.data.jobId === jobId);
  async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !check(); await sleep(20))
      if (Date.now() > deadline) throw new Error('timed out');
  }

  it('runs a job on BullMQ (not in the embedded queue) and POSTs its signed job.completed from the outbox', async () => {
    const config = fresh();
    const webhook = `http://${host}/hook`;
    const { job } = await enqueue({ agent: 'echo', goal: 'on bullmq', webhook }, { app, config });
    expect(await openJobQueue({ ...config, jobQueue: 'sqlite' }).get(job.id)).toBeUndefined();

    const worker = createWorker({ app, config, pollMs: 20 });
    await until(() => messagesFor(job.id).length > 0);
    await worker.stop();
    const last = receiver.received.find((r) => r.body.includes(job.id))!;
    const payload = new Webhook(secret).verify(last.body, last.headers) as {
      type: string;
      data: { jobId: string; state: string; result: { answer: string } };
    };
    expect(payload).toMatchObject({ type: 'job.completed', data: { jobId: job.id, state: 'completed' } });
    expect(payload.data.result.answer).toContain('on bullmq');
    const queue = openJobQueue(config);
    try {
      expect(await queue.get(job.id)).toMatchObject({ state: 'completed', webhook });
    } finally {
      await queue.close();
    }
  });

  it('reports each failed attempt with job.failed and the last one with job.dead', async () => {
    const config = fresh();
    const { job } = await enqueue(
      { agent: 'broke', goal: 'never works', retry: { attempts: 2, backoffMs: 0 }, webhook: `http://${host}/hook` },
      { app, config },
    );
    const worker = createWorker({ app, config, pollMs: 20 });
    await until(() => messagesFor(job.id).some((m) => m.type === 'job.dead'));
    await worker.stop();
    expect(messagesFor(job.id).map((m) => [m.type, m.data.state, m.data.attempts])).toEqual([
      ['job.failed', 'queued', 1],
      ['job.dead', 'dead', 2],
    ]);
  });

  it('takes back the message of a settle BullMQ refused (its lock ran out) and lets go at once of the one it took', async () => {
    const config = fresh();
    const queue = openJobQueue(config) as BullmqJobQueue;
    try {
      const { job } = await queue.enqueue({ agent: 'echo', goal: 'slow', webhook: `http://${host}/hook` });
      const first = (await queue.lease({ worker: 'slow', leaseMs: 150 }))!;
      await sleep(400);
      const completed = { kind: 'completed', result: { status: 'completed', answer: 'done' } } as const;
      expect(await queue.settle(job.id, first.epoch, completed)).toBeUndefined();
      expect(queue.outbox!.forJob(job.id)).toEqual([]);

      const second = (await queue.lease({ worker: 'next', leaseMs: 10_000 }))!;
      expect(second.epoch).toBe(first.epoch + 1);
      expect((await queue.settle(job.id, second.epoch, completed))?.state).toBe('completed');
      const messages = queue.outbox!.forJob(job.id);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ state: 'pending', attempts: 0 });
      expect(messages[0]!.nextAt).toBeLessThanOrEqual(Date.now());
      expect(JSON.parse(messages[0]!.body)).toMatchObject({
        type: 'job.completed',
        data: { jobId: job.id, state: 'completed', attempts: 2, result: { answer: 'done' } },
      });
    } finally {
      await queue.close();
    }
  });
});

describe.skipIf(!databaseUrl)('jobs on the BullMQ queue CADRE_DATABASE_URL alone picks: one engine', () => {
  const schemas = postgresSchemas(databaseUrl);
  beforeAll(() => schemas.open());
  afterAll(() => schemas.close());

  it("keeps the job in BullMQ's tables, cadre's record beside it and the run in PostgreSQL, and nothing in Redis", async () => {
    const schema = schemas.fresh();
    const prefix = `pg-only-${randomUUID().slice(0, 8)}`;
    const bullSchema = bullmqSchema({ databaseSchema: schema, jobQueuePrefix: prefix });
    vi.stubEnv('CADRE_REDIS_URL', '');
    vi.stubEnv('CADRE_JOB_QUEUE', '');
    vi.stubEnv('CADRE_RUN_STORE', '');
    vi.stubEnv('CADRE_DATABASE_URL', databaseUrl!);
    vi.stubEnv('CADRE_DATABASE_SCHEMA', schema);
    vi.stubEnv('CADRE_JOB_QUEUE_PREFIX', prefix);
    const config = { databasePath: database() };
    try {
      const { job } = await enqueue({ agent: 'echo', goal: 'on postgres alone' }, { app, config });
      expect(await openJobQueue({ ...config, jobQueue: 'sqlite' }).get(job.id)).toBeUndefined();
      const worker = createWorker({ app, config, pollMs: 20, schedules: false });
      await worker.idle();
      await worker.stop();
      const queue = openJobQueue(config);
      try {
        expect(await queue.get(job.id)).toMatchObject({ state: 'completed', epoch: 1, attempts: 1 });
      } finally {
        await queue.close();
      }
      const [bull] = await schemas.sql<{ state: string }>(`SELECT state FROM ${bullSchema}.job WHERE id = $1`, [
        job.id,
      ]);
      expect(bull?.state).toBe('completed');
      const record = await schemas.sql<{ field: string; value: string }>(
        `SELECT field, value FROM ${schema}.cadre_queue_fields WHERE key = $1`,
        [`${prefix}:~cadre:job:${job.id}`],
      );
      expect(Object.fromEntries(record.map((r) => [r.field, r.value]))).toMatchObject({ epoch: '1', attempts: '1' });
      const [run] = await schemas.sql<{ status: string }>(`SELECT status FROM ${schema}.cadre_runs WHERE id = $1`, [
        job.runId,
      ]);
      expect(run?.status).toBe('completed');
      if (url) {
        const { Redis } = await import('ioredis');
        const redis = new Redis(url);
        expect(await redis.keys(`${prefix}:*`)).toEqual([]);
        redis.disconnect();
      }
    } finally {
      await schemas.drop(bullSchema);
    }
  });
});
