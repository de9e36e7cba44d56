import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqJobQueue, createWorker, type BullmqJobQueue, type BullmqJobQueueOptions } from 'cadre/jobs';
import { jobQueueConformance } from 'cadre/testing';
import app from '../fixtures/jobs-app.js';
import { deleteRedisPrefix } from '../fixtures/redis-keys.js';
import { withOsUser } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_REDIS_URL;
const databaseUrl = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write('BullMQ-on-Redis job queue tests skipped: set CADRE_REDIS_URL (e.g. redis://127.0.0.1:6379)\n');
if (!databaseUrl)
  process.stdout.write('BullMQ-on-PostgreSQL job queue tests skipped: set CADRE_DATABASE_URL (postgres://…)\n');

/** Deletes every Redis key a queue made under its prefix (its PostgreSQL schema goes at the end). */
const flush = async (prefix: string) => {
  if (url) await deleteRedisPrefix(url, prefix);
};

/** Where BullMQ keeps the jobs, and cadre its record beside each job. */
interface Backend {
  name: string;
  enabled: boolean;
  /** A queue's options under `prefix`. */
  options: (prefix: string) => BullmqJobQueueOptions;
  /** Adds a member to one of cadre's sets of the queue under `prefix`, behind the queue's back. */
  addMember: (prefix: string, key: string, member: string) => Promise<void>;
}

// A URL without a user means the OS user, as for psql (node-postgres reads only $USER, unset in some CI shells).
const pgConfig = () => ({ connectionString: withOsUser(databaseUrl!) });
// BullMQ's PostgreSQL backend ignores the prefix: each queue gets a schema of its own, dropped at the end.
const schemas: string[] = [];
const schemaOf = (prefix: string) => prefix.replaceAll('-', '_');
const postgresJobs = (prefix: string) => {
  schemas.push(schemaOf(prefix));
  return { ...pgConfig(), schema: schemaOf(prefix), migrate: true };
};
const addRedisMember = async (prefix: string, key: string, member: string) => {
  const redis = new Redis(url!);
  await redis.sadd(`${prefix}:~cadre:${key}`, member);
  redis.disconnect();
};
const backends: Backend[] = [
  {
    name: 'Redis',
    enabled: Boolean(url),
    options: (prefix) => ({ connection: url!, prefix }),
    addMember: addRedisMember,
  },
  {
    // BullMQ 6.7's PostgreSQL backend (createPostgresBackend), LISTEN/NOTIFY for new jobs; cadre's records in Redis.
    name: 'PostgreSQL with records in Redis',
    enabled: Boolean(url && databaseUrl),
    options: (prefix) => ({ connection: url!, prefix, postgres: postgresJobs(prefix) }),
    addMember: addRedisMember,
  },
  {
    // One engine: BullMQ's jobs and cadre's records in one PostgreSQL schema.
    name: 'PostgreSQL alone',
    enabled: Boolean(databaseUrl),
    options: (prefix) => ({ prefix, postgres: postgresJobs(prefix), recordsSchema: schemaOf(prefix) }),
    addMember: async (prefix, key, member) => {
      const client = new pg.Client(pgConfig());
      await client.connect();
      await client.query(`INSERT INTO ${schemaOf(prefix)}.cadre_queue_members (key, member) VALUES ($1, $2)`, [
        `${prefix}:~cadre:${key}`,
        member,
      ]);
      await client.end();
    },
  },
];

afterAll(async () => {
  if (!schemas.length) return;
  const client = new pg.Client(pgConfig());
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const prefixes = new WeakMap<BullmqJobQueue, string>();

for (const { name, enabled, options: optionsOf, addMember } of backends) {
  const open = (options: Partial<BullmqJobQueueOptions> & { prefix: string }) =>
    createBullmqJobQueue({ ...optionsOf(options.prefix), ...options });

  describe.skipIf(!enabled)(`BullMQ job queue on ${name}`, () => {
    jobQueueConformance({
      name: `BullMQ on ${name}`,
      create: () => {
        const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
        // The suite moves time through `now` only: a long Redis lock keeps Redis's clock out of it.
        const queue = open({ prefix, minLockMs: 60_000 });
        prefixes.set(queue, prefix);
        return queue;
      },
      destroy: async (queue) => {
        await (queue as BullmqJobQueue).close();
        await flush(prefixes.get(queue as BullmqJobQueue)!);
      },
      // On PostgreSQL the random-load cases take about 12 s here (every step lists the queue).
      testApi: { describe, it: (title, body) => it(title, body, 60_000) },
    });

    it("returns a vanished holder's jobs to the queue by BullMQ's stalled check once their leases ran out on the real clock", async () => {
      const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
      const holder = open({ prefix, stalledIntervalMs: 200 });
      const rescuer = open({ prefix, stalledIntervalMs: 200 });
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      try {
        // Asking for work starts the rescuer's stalled-job check on the queue.
        expect(await rescuer.lease({ worker: 'rescuer', leaseMs: 600, queues: ['q'] })).toBeUndefined();
        const plain = (await holder.enqueue({ agent: 'a', goal: 'plain', queue: 'q', priority: 1 })).job;
        const beating = (await holder.enqueue({ agent: 'a', goal: 'heartbeat', queue: 'q' })).job;
        const leased = [await holder.lease({ worker: 'holder', leaseMs: 600 })];
        const since = new Map([[plain.id, Date.now()]]);
        leased.push(await holder.lease({ worker: 'holder', leaseMs: 600 }));
        expect(leased.map((l) => l?.job.id)).toEqual([plain.id, beating.id]);
        await pause(300);
        // The heartbeat moves the end of that lease, and of BullMQ's lock, to 600 ms from now.
        expect(await holder.heartbeat(beating.id, leased[1]!.epoch, 600)).toBe('held');
        since.set(beating.id, Date.now());
        await holder.close();
        for (const job of [plain, beating]) {
          while ((await rescuer.get(job.id))?.state === 'running') await pause(10);
          const after = Date.now() - since.get(job.id)!;
          // The lock lasts leaseMs; the check runs every 200 ms and needs two passes to see a lock gone.
          expect(after, job.goal).toBeGreaterThanOrEqual(590);
          expect(after, job.goal).toBeLessThan(600 + 2 * 200 + 400);
        }
        // BullMQ puts stalled jobs back at the head of its wait list, so both come before any other job.
        for (let i = 0; i < 2; i++) {
          const again = await rescuer.lease({ worker: 'rescuer', leaseMs: 600 });
          const before = leased.find((l) => l?.job.id === again?.job.id);
          expect(again?.epoch).toBe(before!.epoch + 1);
          expect(again?.job.attempts).toBe(2);
        }
      } finally {
        await rescuer.close();
        await flush(prefix);
      }
    });

    it('frees a team slot left taken by a settle that died between BullMQ and cadre', async () => {
      const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
      const queue = open({ prefix });
      try {
        const limits = { teamLimits: { ops: 1 } };
        const first = (await queue.enqueue({ team: 'ops', goal: 'first' })).job;
        const leased = await queue.lease({ worker: 'w', leaseMs: 5000, ...limits });
        await queue.settle(first.id, leased!.epoch, { kind: 'completed', result: { status: 'completed' } });
        // What a process killed after BullMQ completed the job, before cadre freed its slot, leaves.
        await addMember(prefix, 'slots:team:ops', first.id);
        const second = (await queue.enqueue({ team: 'ops', goal: 'second' })).job;
        expect((await queue.lease({ worker: 'w', leaseMs: 5000, ...limits }))?.job.id).toBe(second.id);
      } finally {
        await queue.close();
        await flush(prefix);
      }
    });

    describe('with a cadre worker', () => {
      const prefix = `cadre-test-${randomUUID().slice(0, 8)}`;
      const queue = enabled ? open({ prefix }) : undefined;
      afterAll(async () => {
        await queue?.close();
        if (enabled) await flush(prefix);
      });

      it('runs a queued job to completion and keeps the answer with the job', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'cadre-bullmq-'));
        const config = { databasePath: join(dir, 'cadre.db') };
        const { job } = await queue!.enqueue({ agent: 'echo', goal: 'hello bullmq' });
        const worker = createWorker({ queue, app, config, pollMs: 20, schedules: false });
        await worker.idle();
        await worker.stop();
        const done = await queue!.get(job.id);
        expect(done?.state).toBe('completed');
        expect(done?.epoch).toBe(1);
        expect(done?.result).toEqual({ status: 'completed', answer: expect.stringContaining('hello bullmq') });
      });

      it('wakes an idle worker at once for a job another process adds, without waiting for its poll', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'cadre-bullmq-'));
        const config = { databasePath: join(dir, 'cadre.db') };
        // Another process's queue on the same server.
        const producer = open({ prefix });
        const started: number[] = [];
        // A poll far longer than the test: only the wake-up can start the job in time.
        const worker = createWorker({
          queue,
          app,
          config,
          pollMs: 60_000,
          schedules: false,
          onEvent: (event) => {
            if (event.type === 'job.started') started.push(Date.now());
          },
        });
        try {
          await worker.idle();
          await new Promise((resolve) => setTimeout(resolve, 100));
          const added = Date.now();
          const { job } = await producer.enqueue({ agent: 'echo', goal: 'wake up' });
          for (let i = 0; i < 1000 && (await queue!.get(job.id))?.state !== 'completed'; i++)
            await new Promise((resolve) => setTimeout(resolve, 10));
          expect((await queue!.get(job.id))?.state).toBe('completed');
          expect(started.at(-1)! - added).toBeLessThan(1_000);
        } finally {
          await worker.stop();
          await producer.close();
        }
      }, 30_000);
    });
  });
}
