/**
 * What the jobs bench needs from BullMQ itself: the raw BullMQ anchor (BullMQ's own Queue and Worker,
 * an empty processor, in this process) and the clean-up of what each measurement left in Redis and
 * PostgreSQL. Every measurement runs under a fresh prefix (and schema), so none sees another's jobs.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteRedisPrefix } from '../test/fixtures/redis-keys.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A prefix no other run uses (letters, digits and `-`, as `jobQueuePrefix` accepts). */
export const freshPrefix = (kind: string) => `bench-${kind}-${randomUUID().slice(0, 8)}`;

/** A connection BullMQ can share (it duplicates it for its blocking reads); the caller quits it. */
const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

/** node-postgres options for a URL; one without a user means the OS user, as for psql. */
export function pgConfig(databaseUrl: string): { connectionString: string } {
  const url = new URL(databaseUrl);
  if (!url.username) url.username = process.env.PGUSER ?? userInfo().username;
  return { connectionString: url.href };
}

/** Drops a schema BullMQ's PostgreSQL backend made. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client(pgConfig(databaseUrl));
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Jobs per second of one BullMQ Worker (concurrency 16, empty processor) draining `n` jobs added with addBulk. */
export async function rawBullmqThroughput(url: string, n: number): Promise<number> {
  const prefix = freshPrefix('raw');
  const connection = connect(url);
  const queue = new Queue('raw', { connection, prefix });
  for (let i = 0; i < n; i += 1000)
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: 'run', data: { goal: `job ${i + j}` } })),
    );
  let completed = 0;
  let done = () => {};
  const drained = new Promise<void>((resolve) => (done = resolve));
  const worker = new Worker('raw', async () => {}, { connection, prefix, concurrency: 16, autorun: false });
  worker.on('completed', () => ++completed === n && done());
  await worker.waitUntilReady();
  const started = performance.now();
  void worker.run();
  await drained;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.close();
  await connection.quit();
  await deleteRedisPrefix(url, prefix);
  return n / seconds;
}

/**
 * Add -> processor start, in ms, for `n` jobs added one at a time ~30 ms apart to one idle BullMQ
 * Worker (after one warm-up job), sorted.
 */
export async function rawBullmqPickup(url: string, n: number): Promise<number[]> {
  const prefix = freshPrefix('raw');
  const connection = connect(url);
  const queue = new Queue('raw', { connection, prefix });
  const started = new Map<string, number>();
  const worker = new Worker(
    'raw',
    async (job) => {
      started.set(job.id!, performance.now());
    },
    { connection, prefix },
  );
  await worker.waitUntilReady();
  const warmUp = await queue.add('run', { goal: 'warm-up' });
  while (!started.has(warmUp.id!)) await sleep(10);
  const added: { id: string; at: number }[] = [];
  for (let i = 0; i < n; i++) {
    const at = performance.now();
    const job = await queue.add('run', { goal: `pickup ${i}` });
    added.push({ id: job.id!, at });
    await sleep(30);
  }
  while (started.size < n + 1) await sleep(10);
  await worker.close();
  await queue.close();
  await connection.quit();
  await deleteRedisPrefix(url, prefix);
  return added.map((a) => started.get(a.id)! - a.at).sort((x, y) => x - y);
}
