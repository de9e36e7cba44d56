import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCadreStore } from 'cadre';
import { createWorker, enqueue, openJobQueue, type Job, type WorkerEvent } from 'cadre/jobs';
import app from '../fixtures/jobs-app.js';

let dir: string;
let config: { databasePath: string };
let lines: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cadre-jobs-'));
  config = { databasePath: join(dir, 'cadre.db') };
  lines = join(dir, 'lines.txt');
  process.env.CADRE_TEST_LINES = lines;
});
afterEach(() => {
  delete process.env.CADRE_TEST_LINES;
  delete process.env.CADRE_TEST_WAIT_MS;
});

/** Runs a worker until the queue has nothing ready and nothing running, then stops it. */
async function drain(options: Partial<Parameters<typeof createWorker>[0]> = {}): Promise<WorkerEvent[]> {
  const events: WorkerEvent[] = [];
  const worker = createWorker({ app, config, pollMs: 20, onEvent: (e) => events.push(e), ...options });
  await worker.idle();
  await worker.stop();
  return events;
}

/** Runs a worker until the job reaches one of `states` (a retry waits out its backoff), then stops it. */
async function runUntil(id: string, states: Job['state'][]): Promise<Job> {
  const worker = createWorker({ app, config, pollMs: 20 });
  let job = await get(id);
  while (!states.includes(job.state)) {
    await new Promise((r) => setTimeout(r, 20));
    job = await get(id);
  }
  await worker.stop();
  return job;
}

const queue = () => openJobQueue(config);
const get = async (id: string) => (await queue().get(id))!;

describe('cadre/jobs: queued goals run on workers', () => {
  it('runs a queued job to completion and keeps the answer with the job', async () => {
    const { job } = await enqueue({ agent: 'echo', goal: 'hello jobs' }, { app, config });
    expect(job.state).toBe('queued');
    await drain();
    const done = await get(job.id);
    expect(done.state).toBe('completed');
    expect(done.result).toEqual({ status: 'completed', answer: expect.stringContaining('hello jobs') });
    expect(openCadreStore({ path: config.databasePath }).runs.get(job.runId)?.status).toBe('completed');
  });

  it('wakes an idle worker as soon as a job is queued in its database, without waiting for its poll', async () => {
    const started: number[] = [];
    // A poll far longer than the test: only the queue's watch on the database file can start the job.
    const worker = createWorker({
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
      const { job } = await enqueue({ agent: 'echo', goal: 'wake up' }, { app, config });
      for (let i = 0; i < 300 && (await get(job.id)).state !== 'completed'; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect((await get(job.id)).state).toBe('completed');
      expect(started.at(-1)! - added).toBeLessThan(1_000);
    } finally {
      await worker.stop();
    }
  });

  it('the same dedupe key twice is one job', async () => {
    const a = await enqueue({ agent: 'echo', goal: 'once', dedupeKey: 'k1' }, { app, config });
    const b = await enqueue({ agent: 'echo', goal: 'once again', dedupeKey: 'k1' }, { app, config });
    expect(b.created).toBe(false);
    expect(b.job.id).toBe(a.job.id);
    expect(await queue().list()).toHaveLength(1);
  });

  it('starts higher priorities first', async () => {
    const low = await enqueue({ agent: 'echo', goal: 'low', priority: 0 }, { app, config });
    const high = await enqueue({ agent: 'echo', goal: 'high', priority: 5 }, { app, config });
    const events = await drain({ concurrency: 1 });
    const started = events.filter((e) => e.type === 'job.started').map((e) => (e as { job: Job }).job.id);
    expect(started).toEqual([high.job.id, low.job.id]);
  });

  it('retries a failed attempt after backoff and completes', async () => {
    const { job } = await enqueue(
      { agent: 'flaky', goal: 'try', retry: { attempts: 3, backoffMs: 400 } },
      { app, config },
    );
    const done = await runUntil(job.id, ['completed', 'dead']);
    expect(done.state).toBe('completed');
    expect(done.attempts).toBe(2);
  });

  it('dead-letters a job after its last attempt, with the error', async () => {
    const { job } = await enqueue(
      { agent: 'broke', goal: 'fail', retry: { attempts: 2, backoffMs: 0 } },
      { app, config },
    );
    await drain();
    const dead = await get(job.id);
    expect(dead.state).toBe('dead');
    expect(dead.attempts).toBe(2);
    expect(dead.error?.message).toMatch(/always broken/);
  });

  it('ends a job past its timeout: the run is stopped and the attempt fails with timeout', async () => {
    process.env.CADRE_TEST_WAIT_MS = '5000';
    const { job } = await enqueue(
      { agent: 'append', goal: 'slow', timeoutMs: 300, retry: { attempts: 1 } },
      { app, config },
    );
    const started = Date.now();
    await drain();
    expect(Date.now() - started).toBeLessThan(4000);
    const dead = await get(job.id);
    expect(dead.state).toBe('dead');
    expect(dead.error?.code).toBe('timeout');
    const run = openCadreStore({ path: config.databasePath }).runs.get(job.runId)!;
    expect(run.status).toBe('failed');
    expect(run.result).toMatchObject({ error: { code: 'timeout' } });
  });

  it('a job waiting for approval frees its worker and continues on a worker once answered', async () => {
    const { job } = await enqueue({ team: 'gated', goal: 'needs a yes' }, { app, config });
    await drain();
    expect((await get(job.id)).state).toBe('waiting');
    await queue().answer(job.id, { action: 'approve' });
    await drain();
    const done = await get(job.id);
    expect(done.state).toBe('completed');
    expect(done.decision).toBeUndefined();
  });

  it('a paused queue is not leased from until resumed', async () => {
    const { job } = await enqueue({ agent: 'echo', goal: 'later', queue: 'night' }, { app, config });
    await queue().pause('night');
    await drain();
    expect((await get(job.id)).state).toBe('queued');
    await queue().resume('night');
    await drain();
    expect((await get(job.id)).state).toBe('completed');
  });

  it('a cancelled running job stops its run and ends cancelled', async () => {
    process.env.CADRE_TEST_WAIT_MS = '10000';
    const { job } = await enqueue({ agent: 'append', goal: 'cancel me' }, { app, config });
    const worker = createWorker({ app, config, pollMs: 20, leaseMs: 300 });
    while ((await get(job.id)).state !== 'running') await new Promise((r) => setTimeout(r, 20));
    await queue().cancel(job.id);
    await worker.idle();
    await worker.stop();
    expect((await get(job.id)).state).toBe('cancelled');
    expect(readFileSync(lines, 'utf8')).toBe('cancel me\n');
  });

  it('a job the queue hands out again while it runs here stops its older run first: one run of it writes at a time', async () => {
    process.env.CADRE_TEST_WAIT_MS = '150';
    const { job } = await enqueue({ agent: 'append', goal: 'handed out twice' }, { app, config });
    const embedded = queue();
    let again: Awaited<ReturnType<typeof embedded.lease>>;
    // A queue that, as BullMQ can after a stall, hands the running job out a second time, under a
    // newer lease (the next epoch), while the first lease's run is still in its `wait` step.
    const twice = Object.create(embedded, {
      lease: {
        value: async (request: Parameters<typeof embedded.lease>[0]) => {
          const leased = await embedded.lease(request);
          if (leased) {
            setTimeout(() => (again = { ...leased, epoch: leased.epoch + 1 }), 60);
            return leased;
          }
          const handed = again;
          again = undefined;
          return handed;
        },
      },
    }) as typeof embedded;
    const events: WorkerEvent[] = [];
    const worker = createWorker({ app, config, queue: twice, pollMs: 20, onEvent: (e) => events.push(e) });
    const lost = () => events.filter((e): e is Extract<WorkerEvent, { type: 'job.lost' }> => e.type === 'job.lost');
    // The first lease's run stops for the second; the second's settle is refused by this queue, whose
    // record still names the first lease.
    for (let i = 0; i < 300 && lost().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await worker.stop();
    expect(lost().find((e) => e.epoch === 1)?.reason).toMatch(/handed this job out again/);
    expect(events.filter((e) => e.type === 'job.started').map((e) => e.epoch)).toEqual([1, 2]);
    const store = openCadreStore({ path: config.databasePath });
    const types = store.events.read(job.runId).map((e) => e.type);
    expect(types.filter((type) => type === 'task.completed')).toHaveLength(1);
    // The stopped run wrote nothing of its stop: no failed attempt, no new plan, no end of the run.
    expect(types.filter((type) => type === 'task.failed' || type === 'plan.revised')).toEqual([]);
    expect(types.filter((type) => type === 'run.completed')).toHaveLength(1);
    expect(
      readFileSync(lines, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l === 'handed out twice'),
    ).toHaveLength(1);
  });

  it('refuses bad jobs with a clear error and queues nothing', async () => {
    await expect(enqueue({ team: 'nope', goal: 'x' }, { app, config })).rejects.toMatchObject({
      code: 'team_not_found',
    });
    await expect(
      enqueue({ agent: 'echo', goal: 'x', runAt: Date.now() - 3_600_000 }, { app, config }),
    ).rejects.toMatchObject({
      code: 'input_invalid',
      details: { field: 'runAt' },
    });
    await expect(
      enqueue({ agent: 'echo', goal: 'x', budget: { maxSteps: 'ten' as unknown as number } }, { app, config }),
    ).rejects.toMatchObject({ code: 'input_invalid', details: { field: 'budget.maxSteps' } });
    await expect(enqueue({ agent: 'echo', team: 'gated', goal: 'x' }, { app, config })).rejects.toMatchObject({
      code: 'input_invalid',
    });
    expect(await queue().list()).toEqual([]);
  });
});
