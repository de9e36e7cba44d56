import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bullmqSchema, enqueue, openJobQueue } from 'cadre/jobs';
import { mulberry32 } from 'cadre/testing';
import app from '../fixtures/jobs-app.js';
import { deleteRedisPrefix } from '../fixtures/redis-keys.js';
import { withOsUser } from '../fixtures/postgres-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appPath = join(root, 'test/fixtures/jobs-app.ts');
const jobs = Number(process.env.CADRE_CHAOS_JOBS ?? 200);
const redisUrl = process.env.CADRE_REDIS_URL;
const databaseUrl = process.env.CADRE_DATABASE_URL;
if (!redisUrl) process.stdout.write('chaos on BullMQ skipped: set CADRE_REDIS_URL (e.g. redis://127.0.0.1:6379)\n');
if (!redisUrl || !databaseUrl)
  process.stdout.write(
    'chaos on PostgreSQL + BullMQ on Redis skipped: set CADRE_DATABASE_URL and CADRE_REDIS_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );
if (!databaseUrl)
  process.stdout.write(
    'chaos on PostgreSQL alone skipped: set CADRE_DATABASE_URL (e.g. postgres://127.0.0.1:5432/test)\n',
  );

interface Settings {
  jobQueue: 'sqlite' | 'bullmq';
  redisUrl?: string;
  jobQueuePrefix?: string;
  runStore?: 'postgres';
  databaseUrl?: string;
  databaseSchema?: string;
}

/** Where runs are kept (the embedded file, or PostgreSQL) and the queue the jobs and workers share. */
const setups: { name: string; enabled: boolean; settings: () => Settings }[] = [
  { name: 'the embedded queue', enabled: true, settings: () => ({ jobQueue: 'sqlite' }) },
  {
    name: 'BullMQ on Redis (runs in SQLite)',
    enabled: Boolean(redisUrl),
    settings: () => ({
      jobQueue: 'bullmq',
      redisUrl: redisUrl!,
      jobQueuePrefix: `cadre-chaos-${randomUUID().slice(0, 8)}`,
    }),
  },
  {
    name: 'PostgreSQL + BullMQ on Redis',
    enabled: Boolean(redisUrl && databaseUrl),
    settings: () => ({
      jobQueue: 'bullmq',
      redisUrl: redisUrl!,
      jobQueuePrefix: `cadre-chaos-${randomUUID().slice(0, 8)}`,
      runStore: 'postgres',
      databaseUrl: databaseUrl!,
      databaseSchema: `cadre_chaos_${randomUUID().slice(0, 8)}`,
    }),
  },
  {
    // One engine: runs, BullMQ's jobs and cadre's records beside them all in PostgreSQL.
    name: 'PostgreSQL alone (BullMQ on PostgreSQL)',
    enabled: Boolean(databaseUrl),
    settings: () => ({
      jobQueue: 'bullmq',
      jobQueuePrefix: `chaos-${randomUUID().slice(0, 8)}`,
      runStore: 'postgres',
      databaseUrl: databaseUrl!,
      databaseSchema: `cadre_chaos_${randomUUID().slice(0, 8)}`,
    }),
  },
];

/** Reads the runs' stored events with `sql` (its table named `events`), from the file or the schema. */
async function eventQuery(settings: Settings, databasePath: string) {
  if (settings.databaseSchema !== undefined) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: withOsUser(settings.databaseUrl!),
      options: `-c search_path=${settings.databaseSchema}`,
    });
    await client.connect();
    return {
      all: async <R>(sql: string) =>
        (await client.query(sql.replaceAll('FROM events', 'FROM cadre_events'))).rows as R[],
      close: async () => {
        await client.query(`DROP SCHEMA ${settings.databaseSchema} CASCADE`);
        if (settings.jobQueue === 'bullmq' && settings.redisUrl === undefined)
          await client.query(
            `DROP SCHEMA ${bullmqSchema({ ...settings, jobQueuePrefix: settings.jobQueuePrefix! })} CASCADE`,
          );
        await client.end();
      },
    };
  }
  const db = new Database(databasePath, { readonly: true });
  return { all: async <R>(sql: string) => db.prepare(sql).all() as R[], close: async () => void db.close() };
}

afterEach(() => void vi.unstubAllEnvs());

describe.each(setups.filter((q) => q.enabled))(
  'chaos: workers killed at random while they work, on $name',
  ({ settings }) => {
    it(`${jobs} jobs over 4 worker processes, one killed with SIGKILL every few hundred ms: none lost, no line written twice unless reported unknown, no finished task re-run`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cadre-chaos-'));
      const databasePath = join(dir, 'cadre.db');
      const lines = join(dir, 'lines.txt');
      const queueSettings = settings();
      const config = { databasePath, ...queueSettings };
      // This process's queue too is on PostgreSQL when the setup names no Redis.
      if (queueSettings.redisUrl === undefined) vi.stubEnv('CADRE_REDIS_URL', '');
      const ids: string[] = [];
      for (let n = 0; n < jobs; n++)
        ids.push(
          (
            await enqueue(
              { agent: 'append', goal: `line-${n}`, retry: { attempts: 10, backoffMs: 0 } },
              { app, config },
            )
          ).job.id,
        );

      const random = mulberry32(7);
      const env = {
        ...process.env,
        NO_COLOR: '1',
        CADRE_DATABASE_PATH: '',
        CADRE_TEST_LINES: lines,
        CADRE_TEST_WAIT_MS: '20',
        CADRE_JOB_QUEUE: queueSettings.jobQueue,
        // Without a Redis URL of its own, a setup's BullMQ queue is on its PostgreSQL.
        CADRE_REDIS_URL: queueSettings.redisUrl ?? '',
        ...(queueSettings.jobQueuePrefix !== undefined ? { CADRE_JOB_QUEUE_PREFIX: queueSettings.jobQueuePrefix } : {}),
        ...(queueSettings.databaseSchema !== undefined
          ? {
              CADRE_RUN_STORE: 'postgres',
              CADRE_DATABASE_URL: queueSettings.databaseUrl,
              CADRE_DATABASE_SCHEMA: queueSettings.databaseSchema,
            }
          : { CADRE_RUN_STORE: 'sqlite' }),
      };
      const start = () =>
        spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            'src/cli/main.ts',
            'worker',
            '--json',
            '--lease',
            '800',
            '--concurrency',
            '4',
            '--app',
            appPath,
            '--data',
            dir,
          ],
          { cwd: root, env, stdio: 'ignore' },
        );
      const workers: ChildProcess[] = [start(), start(), start(), start()];
      const queue = openJobQueue(config);
      let kills = 0;
      const deadline = Date.now() + 240_000;
      try {
        for (;;) {
          const counts = await queue.counts();
          if (counts.queued + counts.running + counts.waiting === 0) break;
          if (Date.now() > deadline) throw new Error(`chaos run did not finish: ${JSON.stringify(counts)}`);
          await new Promise((r) => setTimeout(r, 300 + random() * 400));
          // While work is left, one random worker dies and a fresh one takes its place.
          if (counts.queued + counts.running > 0 && kills < jobs) {
            const victim = Math.floor(random() * workers.length);
            workers[victim]!.kill('SIGKILL');
            workers[victim] = start();
            kills++;
          }
        }
      } finally {
        for (const worker of workers) worker.kill('SIGKILL');
      }
      expect(kills).toBeGreaterThan(5);

      const db = await eventQuery(queueSettings, databasePath);
      const finals = await Promise.all(ids.map((id) => queue.get(id)));
      if ('close' in queue) await queue.close();
      if (queueSettings.redisUrl !== undefined)
        await deleteRedisPrefix(queueSettings.redisUrl, queueSettings.jobQueuePrefix!);
      // 0 lost: every job ended completed, or dead with a reason.
      for (const job of finals) {
        expect(['completed', 'dead'], job!.id).toContain(job!.state);
        if (job!.state === 'dead') expect(job!.error?.message).toBeTruthy();
      }
      // A line written twice is allowed only where the run reported that call's outcome unknown.
      const written = existsSync(lines) ? readFileSync(lines, 'utf8').trim().split('\n') : [];
      const times = new Map<string, number>();
      for (const line of written) times.set(line, (times.get(line) ?? 0) + 1);
      const unknown = new Set(
        (
          await db.all<{ run_id: string }>(
            "SELECT DISTINCT run_id FROM events WHERE type = 'tool.result' AND body LIKE '%tool_outcome_unknown%'",
          )
        ).map((r) => r.run_id),
      );
      let duplicates = 0;
      let missing = 0;
      for (const job of finals) {
        const count = times.get(job!.goal) ?? 0;
        if (count > 1) {
          duplicates++;
          expect(unknown.has(job!.runId), `${job!.goal} written ${count} times without tool_outcome_unknown`).toBe(
            true,
          );
        }
        if (count === 0) missing++;
        // At most once: a line missing from a completed job is a call cut off by a kill, reported unknown.
        if (job!.state === 'completed' && count === 0)
          expect(unknown.has(job!.runId), `${job!.goal} never written, and not reported unknown`).toBe(true);
      }
      // No finished task ran again: one task.completed per run, one stored outcome per task.
      // Every job's run is in the store the workers were given (PostgreSQL's tables, or the file).
      const [stored] = await db.all<{ n: number | string }>('SELECT COUNT(DISTINCT run_id) AS n FROM events');
      expect(Number(stored!.n)).toBe(jobs);
      const completedTwice = await db.all<{ run_id: string }>(
        "SELECT run_id FROM events WHERE type = 'task.completed' GROUP BY run_id HAVING COUNT(*) > 1",
      );
      await db.close();
      expect(completedTwice).toEqual([]);
      process.stdout.write(
        `chaos on ${queueSettings.databaseSchema !== undefined ? 'postgres + ' : ''}${queueSettings.jobQueue}${queueSettings.jobQueue === 'bullmq' ? (queueSettings.redisUrl ? ' on redis' : ' on postgres') : ''}: ${jobs} jobs, ${kills} workers killed, ${finals.filter((j) => j!.state === 'completed').length} completed, ` +
          `${finals.filter((j) => j!.state === 'dead').length} dead, ${unknown.size} runs with an unknown outcome, ${duplicates} lines written twice, ${missing} never written\n`,
      );
    }, 300_000);
  },
);
