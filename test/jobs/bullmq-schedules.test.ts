import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
// The server first: it extends zod with OpenAPI before cadre/jobs declares its schemas.
import { createHttpApi } from '../../src/server/http/index.js';
import {
  createBullmqJobQueue,
  createWorker,
  openJobQueue,
  openScheduleStore,
  schedule,
  schedulesOf,
  type BullmqJobQueue,
  type LeasedJob,
} from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';
import { deleteRedisPrefix } from '../fixtures/redis-keys.js';
import { withOsUser } from '../fixtures/postgres-url.js';

const url = process.env.CADRE_REDIS_URL;
const databaseUrl = process.env.CADRE_DATABASE_URL;
if (!url)
  process.stdout.write(
    'BullMQ schedule and metrics tests skipped: set CADRE_REDIS_URL (e.g. redis://127.0.0.1:6379)\n',
  );
else if (!databaseUrl)
  process.stdout.write('BullMQ-on-PostgreSQL schedule test skipped: set CADRE_DATABASE_URL (postgres://…)\n');

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prefixes: string[] = [];
const newPrefix = () => (prefixes.push(`cadre-test-${randomUUID().slice(0, 8)}`), prefixes.at(-1)!);
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(url!, prefix);
});

/** A machine's settings: a database file of its own, the shared Redis. */
const machine = (prefix: string) => ({
  databasePath: join(mkdtempSync(join(tmpdir(), 'cadre-sched-')), 'cadre.db'),
  redisUrl: url!,
  jobQueue: 'bullmq' as const,
  jobQueuePrefix: prefix,
});

/** The instant a schedule's fire stands for, from its job id (`repeat:<schedule>:<instant>`). */
const instantOf = (jobId: string) => Number(jobId.slice(jobId.lastIndexOf(':') + 1));

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000) {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(25)) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Sorted instants a positive whole number of seconds apart: every one distinct, on one schedule's grid. */
const onGrid = (instants: number[]) =>
  instants.slice(1).every((t, i) => t > instants[i]! && (t - instants[i]!) % 1000 === 0);

const lease = (queue: BullmqJobQueue, extra: { queues?: string[]; now?: number } = {}) =>
  queue.lease({ worker: 'w', leaseMs: 30_000, ...extra });
const complete = (queue: BullmqJobQueue, { job, epoch }: LeasedJob) =>
  queue.settle(job.id, epoch, { kind: 'completed', result: { status: 'completed' } });

describe.skipIf(!url)('schedules on BullMQ', () => {
  it('a schedule made with schedule() on one machine is listed on another and fires there: cron in a time zone and an interval, one run per fire', async () => {
    const prefix = newPrefix();
    const [a, b] = [machine(prefix), machine(prefix)];
    const cron = await schedule(
      { timing: { cron: '* * * * * *', tz: 'Europe/Paris' }, job: { agent: 'echo', goal: 'each second' } },
      { app, config: a },
    );
    const every = await schedule(
      { timing: { everyMs: 1000 }, job: { agent: 'echo', goal: 'interval' }, overlap: true },
      { app, config: a },
    );
    // Nothing in A's database: the schedules are in Redis.
    expect(openScheduleStore(a).list()).toEqual([]);
    const queue = openJobQueue(b) as BullmqJobQueue;
    try {
      const listed = await schedulesOf(queue).list();
      expect(listed.map((s) => s.id)).toEqual([cron.id, every.id]);
      expect(listed[0]).toMatchObject({ timing: { cron: '* * * * * *', tz: 'Europe/Paris' }, paused: false });
      const worker = createWorker({ app, config: b, queue, pollMs: 50 });
      const done = async (id: string) =>
        (await queue.list({ state: 'completed' })).filter((job) => job.scheduleId === id);
      try {
        for (const id of [cron.id, every.id])
          await until(async () => ((await done(id)).length >= 3 ? true : undefined), `three fires of ${id}`);
      } finally {
        await worker.stop();
      }
      for (const [made, goal] of [
        [cron, 'each second'],
        [every, 'interval'],
      ] as const) {
        const jobs = (await done(made.id)).sort((x, y) => instantOf(x.id) - instantOf(y.id));
        const instants = jobs.map((job) => instantOf(job.id));
        // Fires a whole number of seconds apart, none twice (one leased late plans the next from then).
        expect(onGrid(instants)).toBe(true);
        if (made === cron) expect(instants.every((t) => t % 1000 === 0)).toBe(true);
        expect(new Set(jobs.map((job) => job.runId)).size).toBe(jobs.length);
        for (const job of jobs) expect(job.result?.answer).toContain(goal);
        const now = (await schedulesOf(queue).get(made.id))!;
        expect(now.nextAt).toBeGreaterThan(now.lastFireAt!);
        expect(instants).toContain(now.lastFireAt);
      }
    } finally {
      await queue.close();
    }
  }, 30_000);

  it('queue instances leasing as fast as they can over one Redis take each fire instant exactly once', async () => {
    const prefix = newPrefix();
    const instances = [0, 1, 2].map(() => createBullmqJobQueue({ connection: url!, prefix }));
    const taken: string[][] = instances.map(() => []);
    try {
      const s = await instances[0]!.schedules.add({
        timing: { everyMs: 1000 },
        job: { agent: 'echo', goal: 'race' },
        overlap: true,
      });
      const stopAt = Date.now() + 4500;
      await Promise.all(
        instances.map(async (queue, i) => {
          while (Date.now() < stopAt) {
            const leased = await lease(queue);
            if (leased) {
              taken[i]!.push(leased.job.id);
              await complete(queue, leased);
            } else await sleep(2);
          }
        }),
      );
      const all = taken.flat().sort((x, y) => instantOf(x) - instantOf(y));
      expect(all.length).toBeGreaterThanOrEqual(4);
      expect(new Set(all).size).toBe(all.length);
      expect(all.every((id) => id.startsWith(`repeat:${s.id}:`))).toBe(true);
      expect(onGrid(all.map(instantOf))).toBe(true);
    } finally {
      await Promise.all(instances.map((queue) => queue.close()));
    }
  }, 20_000);

  it('two `cadre worker` processes, each with its own database, share a schedule: no instant runs twice, and none runs after it is removed', async () => {
    const prefix = newPrefix();
    const env = {
      ...process.env,
      NO_COLOR: '1',
      CADRE_DATABASE_PATH: '',
      CADRE_JOB_QUEUE: 'bullmq',
      CADRE_REDIS_URL: url!,
      CADRE_JOB_QUEUE_PREFIX: prefix,
    };
    const started: { worker: number; jobId: string }[] = [];
    const ready = new Set<number>();
    const workers = [0, 1].map((n) => {
      const data = mkdtempSync(join(tmpdir(), 'cadre-sched-worker-'));
      const args = ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--json', '--app', 'test/fixtures/jobs-app.ts'];
      const child = spawn(process.execPath, [...args, '--data', data], { cwd: root, env });
      let buffer = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (buffer += chunk.toString()).split('\n');
        buffer = lines.pop()!;
        for (const line of lines.filter((l) => l.trim())) {
          const event = JSON.parse(line) as { type: string; jobId?: string };
          if (event.type === 'job.started') started.push({ worker: n, jobId: event.jobId! });
          if (event.type === 'worker.idle') ready.add(n);
        }
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      return { child, exited, stderr: () => stderr };
    });
    const creator = openJobQueue(machine(prefix)) as BullmqJobQueue;
    try {
      await until(() => (ready.size === 2 ? true : undefined), 'both workers to start', 30_000);
      const s = await schedule(
        { timing: { everyMs: 1000 }, job: { agent: 'echo', goal: 'shared' } },
        { app, queue: creator },
      );
      await until(() => (started.length >= 6 ? true : undefined), 'six fires', 30_000);
      await creator.schedules.remove(s.id);
      const atRemoval = started.length;
      await sleep(2500);
      // A fire leased in the instant of the removal may still start; none after.
      expect(started.length - atRemoval).toBeLessThanOrEqual(1);
      const ids = started.map((e) => e.jobId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(onGrid(ids.map(instantOf).sort((x, y) => x - y))).toBe(true);
      expect(await creator.schedules.get(s.id)).toBeUndefined();
      expect(await creator.schedules.list()).toEqual([]);
      process.stdout.write(
        `shared schedule: ${ids.length} fires, by worker ${started.filter((e) => e.worker === 0).length} / ${started.filter((e) => e.worker === 1).length}\n`,
      );
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) expect(await w.exited, w.stderr()).toBe(0);
      await creator.close();
    }
  }, 60_000);

  it('overlap: false drops a fire while the previous fire’s job is running and counts it; overlap: true queues it anyway', async () => {
    const queue = createBullmqJobQueue({ connection: url!, prefix: newPrefix() });
    try {
      const job = { agent: 'echo', goal: 'slow' };
      const single = await queue.schedules.add({ timing: { everyMs: 1000 }, job: { ...job, queue: 'single' } });
      const many = await queue.schedules.add({
        timing: { everyMs: 1000 },
        job: { ...job, queue: 'many' },
        overlap: true,
      });
      const first = {
        single: await until(() => lease(queue, { queues: ['single'] }), 'the first fire'),
        many: await until(() => lease(queue, { queues: ['many'] }), 'the first fire'),
      };
      await sleep(Math.max(instantOf(first.single.job.id), instantOf(first.many.job.id)) + 1100 - Date.now());
      expect(await lease(queue, { queues: ['single'] })).toBeUndefined();
      expect(await queue.schedules.get(single.id)).toMatchObject({ skipped: 1, lastJobId: first.single.job.id });
      const second = await lease(queue, { queues: ['many'] });
      expect(instantOf(second!.job.id)).toBeGreaterThan(instantOf(first.many.job.id));
      expect(await queue.schedules.get(many.id)).toMatchObject({ skipped: 0, lastJobId: second!.job.id });
      // Once the running job is done, the next fire runs.
      await complete(queue, first.single);
      const next = await until(() => lease(queue, { queues: ['single'] }), 'the fire after the running job');
      expect(instantOf(next.job.id)).toBeGreaterThan(instantOf(first.single.job.id) + 1000);
    } finally {
      await queue.close();
    }
  }, 20_000);

  it('a fire leased more than a minute after its instant is dropped under missed: skip and run under missed: once; the next fire is planned from now', async () => {
    const queue = createBullmqJobQueue({ connection: url!, prefix: newPrefix() });
    try {
      // A daily cron whose fire is two seconds away: its next one is a day later.
      const at = Math.ceil((Date.now() + 2000) / 1000) * 1000;
      const d = new Date(at);
      const cron = `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
      const job = { agent: 'echo', goal: 'daily' };
      const skip = await queue.schedules.add({ timing: { cron, missed: 'skip' }, job: { ...job, queue: 'skip' } });
      const once = await queue.schedules.add({ timing: { cron, missed: 'once' }, job: { ...job, queue: 'once' } });
      expect(skip.nextAt).toBe(at);
      await sleep(at + 200 - Date.now());
      // The lease's clock says two minutes have gone by since the fire.
      const late = at + 120_000;
      expect(await lease(queue, { queues: ['skip'], now: late })).toBeUndefined();
      const ran = await lease(queue, { queues: ['once'], now: late });
      expect(ran?.job).toMatchObject({ id: `repeat:${once.id}:${at}`, scheduleId: once.id, runAt: late });
      expect(await queue.schedules.get(skip.id)).toMatchObject({ nextAt: at + 86_400_000, skipped: 0 });
      expect((await queue.schedules.get(skip.id))?.lastJobId).toBeUndefined();
      expect(await queue.schedules.get(once.id)).toMatchObject({ nextAt: at + 86_400_000, lastFireAt: at });
    } finally {
      await queue.close();
    }
  }, 20_000);

  it('a paused schedule fires nothing; restarted, it queues the fire it missed (within a minute) and fires again', async () => {
    const queue = createBullmqJobQueue({ connection: url!, prefix: newPrefix() });
    try {
      const s = await queue.schedules.add({ timing: { everyMs: 1000 }, job: { agent: 'echo', goal: 'paused' } });
      const paused = await queue.schedules.setPaused(s.id, true);
      expect(paused).toMatchObject({ paused: true, nextAt: s.nextAt });
      await sleep(1300);
      expect(await lease(queue)).toBeUndefined();
      const restarted = await queue.schedules.setPaused(s.id, false);
      expect(restarted.paused).toBe(false);
      expect(restarted.nextAt).toBeGreaterThan(s.nextAt! + 1000);
      // The fire planned when it was paused, still within the minute's grace: queued at once, once.
      const missed = await lease(queue);
      expect(missed?.job).toMatchObject({ scheduleId: s.id, dedupeKey: `schedule:${s.id}:${s.nextAt}` });
      await complete(queue, missed!);
      const fired = await until(() => lease(queue), 'a fire after the restart');
      expect(fired.job.id).toBe(`repeat:${s.id}:${restarted.nextAt}`);
      expect((await queue.schedules.list()).map((x) => x.id)).toEqual([s.id]);
    } finally {
      await queue.close();
    }
  }, 20_000);

  it('a lease over several queues takes a fire that came due; one that came due before its schedule was removed is dropped, not run', async () => {
    const prefix = newPrefix();
    const queue = createBullmqJobQueue({ connection: url!, prefix });
    const bull = new Queue('a', { connection: { url: url! }, prefix });
    try {
      const s = await queue.schedules.add({ timing: { everyMs: 1000 }, job: { agent: 'echo', goal: 'x', queue: 'a' } });
      await queue.enqueue({ agent: 'echo', goal: 'later', queue: 'b', runAt: Date.now() + 3_600_000 });
      const first = await lease(queue);
      expect(first?.job.id).toBe(`repeat:${s.id}:${s.nextAt}`);
      await complete(queue, first!);
      const { job } = await queue.enqueue({ agent: 'echo', goal: 'first', queue: 'b', priority: 5 });
      const due = instantOf(first!.job.id) + 1000;
      await sleep(due + 100 - Date.now());
      // Queue b's job goes first; the fire, due meanwhile, now waits in queue a's list.
      expect((await lease(queue))?.job.id).toBe(job.id);
      expect(await bull.getJobState(`repeat:${s.id}:${due}`)).toBe('prioritized');
      await queue.schedules.remove(s.id);
      await expect(queue.schedules.remove(s.id)).rejects.toMatchObject({ code: 'job_not_found' });
      expect(await lease(queue)).toBeUndefined();
      expect(await bull.getJobState(`repeat:${s.id}:${due}`)).toBe('unknown');
      expect((await queue.counts()).queued).toBe(1); // the job due in an hour
    } finally {
      await bull.close();
      await queue.close();
    }
  }, 20_000);
});

describe.skipIf(!url || !databaseUrl)('schedules on BullMQ’s PostgreSQL backend', () => {
  it('a cron in a time zone fires once per instant and stops when removed', async () => {
    const schema = `cadre_sched_${randomUUID().slice(0, 8)}`;
    const postgres = { connectionString: withOsUser(databaseUrl!), schema, migrate: true };
    const queue = createBullmqJobQueue({ connection: url!, prefix: newPrefix(), postgres });
    try {
      const s = await queue.schedules.add({
        timing: { cron: '* * * * * *', tz: 'Europe/Paris' },
        job: { agent: 'echo', goal: 'pg' },
      });
      const taken: string[] = [];
      for (const stopAt = Date.now() + 3200; Date.now() < stopAt; await sleep(10)) {
        const leased = await lease(queue);
        if (!leased) continue;
        taken.push(leased.job.id);
        await complete(queue, leased);
      }
      expect(taken.length).toBeGreaterThanOrEqual(2);
      expect(taken.every((id) => id.startsWith(`repeat:${s.id}:`))).toBe(true);
      expect(onGrid(taken.map(instantOf))).toBe(true);
      await queue.schedules.remove(s.id);
      await sleep(1200);
      expect(await lease(queue)).toBeUndefined();
    } finally {
      await queue.close();
      const client = new pg.Client({ connectionString: postgres.connectionString });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }, 20_000);
});

describe.skipIf(!url)('/metrics on BullMQ', () => {
  it('reports jobs by state, queue depth and lease age from BullMQ, not from the database; a schedule’s next fire is not a queued job', async () => {
    const config = machine(newPrefix());
    const api = createHttpApi({ app, config, server: {} });
    const admin = (await api.keys.create({ name: 'ops', admin: true })).key;
    // A job in the database's own queue, which this server does not use: it must not show.
    await openJobQueue({ databasePath: config.databasePath, jobQueue: 'sqlite' }).enqueue({
      agent: 'echo',
      goal: 'decoy',
      queue: 'decoy',
    });
    const queue = createBullmqJobQueue({ connection: url!, prefix: config.jobQueuePrefix });
    try {
      for (const [name, goal] of [
        ['night', 'one'],
        ['night', 'two'],
        ['day', 'three'],
      ] as const)
        await queue.enqueue({ agent: 'echo', goal, queue: name });
      await queue.enqueue({ agent: 'echo', goal: 'later', queue: 'day', runAt: Date.now() + 3_600_000 });
      await queue.cancel((await queue.enqueue({ agent: 'echo', goal: 'cancelled', queue: 'day' })).job.id);
      await queue.schedules.add({
        timing: { cron: '0 7 * * *', tz: 'Europe/Paris' },
        job: { agent: 'echo', goal: 'x', queue: 'night' },
      });
      await queue.lease({ worker: 'worker-1', leaseMs: 30_000, queues: ['night'] });
      const res = await api.app.request('/metrics', {
        headers: { Host: '127.0.0.1:7700', Authorization: `Bearer ${admin}` },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^cadre_jobs\{state="queued"\} 3$/m);
      expect(text).toMatch(/^cadre_jobs\{state="running"\} 1$/m);
      expect(text).toMatch(/^cadre_jobs\{state="cancelled"\} 1$/m);
      expect(text).toMatch(/^cadre_queue_depth\{queue="night"\} 1$/m);
      expect(text).toMatch(/^cadre_queue_depth\{queue="day"\} 2$/m);
      expect(text).toMatch(/^cadre_worker_lease_age_seconds\{worker="worker-1"\} \d/m);
      expect(text).not.toMatch(/decoy/);
    } finally {
      await queue.close();
      await api.shutdown();
    }
  });
});
