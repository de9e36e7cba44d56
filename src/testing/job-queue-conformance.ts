import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CadreError } from '../core/index.js';
import { jobStates, type Job, type JobInput, type JobQueue, type LeasedJob, type LeaseRequest } from '../core/index.js';
import { hasCode, globalTestApi, type ConformanceTestApi } from './conformance-kit.js';
import { mulberry32 } from './seeded-random.js';

/** What {@link jobQueueConformance} runs against. */
export interface JobQueueConformanceOptions {
  /** Shown in the suite's title, e.g. 'SqliteJobQueue'. */
  name: string;
  /** A queue for one test. It may hold other jobs: each test works in queues and teams of its own. */
  create: () => Promise<JobQueue> | JobQueue;
  /** Called after each test with the queue `create` gave. */
  destroy?: (queue: JobQueue) => Promise<void> | void;
  /** Default: the runner's global `describe` and `it`. */
  testApi?: ConformanceTestApi;
}

// Time moves only through the `now` arguments: no test reads the clock or sleeps.
const t0 = Date.UTC(2026, 5, 1, 12);
const fresh = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** The bounds the RetryPolicy documents for the wait after attempt n: backoffMs·2^(n-1), capped, ±25%. */
function backoffBounds(retry: Job['retry'], attempt: number): [number, number] {
  const base = Math.min(retry.backoffMs * 2 ** (attempt - 1), retry.maxBackoffMs ?? 3_600_000);
  return [Math.floor(base * 0.75), Math.ceil(base * 1.25)];
}

/** What a test may change of the lease request it makes (worker 'w1', 1 s, its own queue). */
type LeaseOver = Partial<Pick<LeaseRequest, 'worker' | 'leaseMs' | 'teamLimits'>>;

/** One test's view of the queue: its own queue name, team and dedupe prefix. */
interface Scope {
  queue: JobQueue;
  /** The test's queue name. */
  q: string;
  team: string;
  key: (name: string) => string;
  add: (over?: Partial<JobInput>, now?: number) => Promise<Job>;
  lease: (now: number, over?: LeaseOver) => Promise<LeasedJob | undefined>;
  /** Leases at `now` and fails the test when nothing is leased. */
  take: (now: number, over?: LeaseOver) => Promise<LeasedJob>;
  get: (id: string) => Promise<Job>;
}

/**
 * Defines the behaviour every JobQueue must show (the embedded queue, BullMQ on Redis or on
 * PostgreSQL) as a `describe` block: enqueue and dedupe, lease order, epochs, expiry, heartbeats,
 * every settle outcome with backoff and dead letters, cancel / retry / answer, pause, counts, team
 * limits under random load, and refusal of bad input. Time is driven through the `now` arguments only.
 */
export function jobQueueConformance(options: JobQueueConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('jobQueueConformance');

  const test = (title: string, body: (scope: Scope) => Promise<void>) =>
    it(title, async () => {
      const queue = await options.create();
      const q = fresh('q');
      const team = fresh('team');
      const scope: Scope = {
        queue,
        q,
        team,
        key: (name) => `${q}:${name}`,
        add: async (over = {}, now = t0) => {
          const owner = over.agent === undefined ? { team } : {};
          return (await queue.enqueue({ ...owner, goal: 'do it', queue: q, ...over }, now)).job;
        },
        lease: (now, over = {}) => queue.lease({ worker: 'w1', leaseMs: 1000, queues: [q], now, ...over }),
        take: async (now, over = {}) => {
          const leased = await scope.lease(now, over);
          assert.ok(leased, `expected a job to lease at t0+${now - t0}`);
          return leased;
        },
        get: async (id) => {
          const job = await queue.get(id);
          assert.ok(job, `job ${id} is gone`);
          return job;
        },
      };
      try {
        await body(scope);
      } finally {
        await options.destroy?.(queue);
      }
    });

  describe(`JobQueue conformance: ${options.name}`, () => {
    test('keeps an enqueued job with its fields, queued at attempt 0 and epoch 0', async ({ queue, q, team, get }) => {
      const input: JobInput = {
        team,
        goal: 'Summarise the incidents',
        queue: q,
        priority: 3,
        runAt: t0 + 5000,
        timeoutMs: 60_000,
        retry: { attempts: 4, backoffMs: 250, maxBackoffMs: 10_000 },
        budget: { maxSteps: 7, maxCostUsd: 0.5 },
        privacy: 'sensitive',
        metadata: { ticket: 42, tags: ['ops'] },
      };
      const { job, created } = await queue.enqueue(input, t0);
      assert.equal(created, true);
      assert.deepEqual(await get(job.id), job);
      assert.equal(job.state, 'queued');
      assert.equal(job.attempts, 0);
      assert.equal(job.epoch, 0);
      assert.deepEqual(
        {
          team: job.team,
          goal: job.goal,
          queue: job.queue,
          priority: job.priority,
          runAt: job.runAt,
          timeoutMs: job.timeoutMs,
          retry: job.retry,
          budget: job.budget,
          privacy: job.privacy,
          metadata: job.metadata,
        },
        { ...input, retry: { attempts: 4, backoffMs: 250, maxBackoffMs: 10_000 } },
      );
      assert.equal(job.agent, undefined);
      assert.equal(job.worker, undefined);
      assert.equal(job.createdAt, t0);

      const other = (await queue.enqueue({ agent: fresh('agent'), goal: 'defaults' }, t0)).job;
      try {
        assert.notEqual(other.id, job.id);
        assert.notEqual(other.runId, job.runId, 'every job carries out a run of its own');
        assert.equal(other.queue, 'default');
        assert.equal(other.priority, 0);
        assert.equal(other.runAt, t0, 'runAt defaults to now');
        assert.ok(other.retry.attempts >= 1, 'a job without a retry policy gets a default one');
      } finally {
        // Not left ready in the shared default queue.
        await queue.cancel(other.id, t0);
      }
      assert.equal(await queue.get(`job_${randomUUID()}`), undefined);
    });

    test('returns the job already there, created: false, for a dedupe key enqueued twice', async (s) => {
      const first = await s.queue.enqueue({ team: s.team, goal: 'first', queue: s.q, dedupeKey: s.key('d') }, t0);
      const again = await s.queue.enqueue({ team: s.team, goal: 'second', queue: s.q, dedupeKey: s.key('d') }, t0 + 5);
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.job.id, first.job.id);
      assert.equal(again.job.goal, 'first', 'the second enqueue changes nothing');
      assert.equal(again.job.dedupeKey, s.key('d'));
      await s.add({ dedupeKey: s.key('other') });
      assert.equal((await s.queue.list({ queue: s.q })).length, 2);
    });

    test('leases by priority, then runAt, then age', async (s) => {
      const a = await s.add({ priority: 0, runAt: t0 + 20 }, t0);
      const b = await s.add({ priority: 0, runAt: t0 + 10 }, t0 + 1);
      const c = await s.add({ priority: 5, runAt: t0 + 20 }, t0 + 2);
      const e = await s.add({ priority: -1, runAt: t0 + 5 }, t0 + 3);
      // Ties on priority and runAt, enqueued one ms apart: only their age orders them.
      const ties: Job[] = [];
      for (let i = 0; i < 8; i++) ties.push(await s.add({ priority: 0, runAt: t0 + 10 }, t0 + 4 + i));
      const order: string[] = [];
      for (let leased = await s.lease(t0 + 100); leased; leased = await s.lease(t0 + 100)) order.push(leased.job.id);
      assert.deepEqual(order, [c.id, b.id, ...ties.map((j) => j.id), a.id, e.id]);
    });

    test('does not lease a job before its runAt', async (s) => {
      const job = await s.add({ runAt: t0 + 5000 });
      assert.equal(await s.lease(t0 + 4999), undefined);
      assert.equal((await s.take(t0 + 5000)).job.id, job.id);
    });

    test('grows the epoch by one with every lease, and a release does not count an attempt', async (s) => {
      const job = await s.add({ retry: { attempts: 1 } });
      for (let epoch = 1; epoch <= 4; epoch++) {
        const leased = await s.take(t0 + epoch);
        assert.equal(leased.epoch, epoch);
        assert.equal(leased.job.epoch, epoch);
        assert.equal(leased.job.state, 'running');
        assert.equal(leased.job.attempts, 1);
        const released = await s.queue.settle(job.id, epoch, { kind: 'released' }, t0 + epoch);
        assert.equal(released?.state, 'queued');
        assert.equal(released?.attempts, 0);
        assert.equal(released?.worker, undefined);
      }
      // Four releases later the single attempt is still there to fail.
      const last = await s.take(t0 + 10);
      const dead = await s.queue.settle(
        job.id,
        last.epoch,
        { kind: 'failed', error: { code: 'x', message: 'no' } },
        t0 + 10,
      );
      assert.equal(dead?.state, 'dead');
      assert.equal(dead?.attempts, 1);
    });

    test('leases an expired job again with epoch + 1; the old epoch can neither heartbeat nor settle', async (s) => {
      const job = await s.add({ retry: { attempts: 3 } });
      const first = await s.take(t0, { worker: 'slow', leaseMs: 1000 });
      assert.equal(first.job.leaseUntil, t0 + 1000);
      assert.equal(first.job.worker, 'slow');
      assert.equal(await s.lease(t0 + 999, { worker: 'other' }), undefined, 'not taken before the lease ends');
      const second = await s.take(t0 + 1001, { worker: 'other' });
      assert.equal(second.job.id, job.id);
      assert.equal(second.epoch, first.epoch + 1);
      assert.equal(second.job.attempts, 2, 'an expired attempt counts');
      assert.equal(await s.queue.heartbeat(job.id, first.epoch, 1000, t0 + 1002), 'lost');
      assert.equal(
        await s.queue.settle(job.id, first.epoch, { kind: 'completed', result: { status: 'completed' } }, t0 + 1003),
        undefined,
      );
      const now = await s.get(job.id);
      assert.equal(now.state, 'running');
      assert.equal(now.epoch, second.epoch);
      assert.equal(now.worker, 'other');
      assert.equal(now.result, undefined, "the stale worker's result is not kept");
      assert.equal(await s.queue.heartbeat(job.id, second.epoch, 1000, t0 + 1004), 'held');
    });

    for (const heartbeatFirst of [true, false])
      test(`keeps a team within its limit when a late worker heartbeats ${heartbeatFirst ? 'before' : 'after'} the next lease`, async (s) => {
        const limits = { teamLimits: { [s.team]: 1 } };
        const live = async (now: number) =>
          (await s.queue.list({ queue: s.q })).filter((j) => j.state === 'running' && j.leaseUntil! >= now).length;
        const late = await s.add({ priority: 0 });
        const first = await s.take(t0, { leaseMs: 100, ...limits });
        await s.add({ priority: 5 }, t0 + 50);
        // The lease ran out at t0 + 100. A queue may revive it on a late heartbeat or call it lost,
        // but two jobs of the team must never hold live leases at once.
        const steps = [
          () => s.queue.heartbeat(late.id, first.epoch, 1000, t0 + 101),
          () => s.lease(t0 + 101, { worker: 'w2', leaseMs: 1000, ...limits }),
        ];
        for (const step of heartbeatFirst ? steps : steps.reverse()) {
          await step();
          assert.ok((await live(t0 + 101)) <= 1, `${await live(t0 + 101)} jobs of a team limited to 1 hold a lease`);
        }
        assert.equal(await s.lease(t0 + 102, { worker: 'w3', ...limits }), undefined, 'the team is at its limit');
      });

    test('extends a lease on heartbeat: not leased again before the new expiry', async (s) => {
      const job = await s.add();
      const { epoch } = await s.take(t0, { leaseMs: 1000 });
      assert.equal(await s.queue.heartbeat(job.id, epoch, 1000, t0 + 800), 'held');
      assert.equal((await s.get(job.id)).leaseUntil, t0 + 1800);
      assert.equal(await s.lease(t0 + 1500, { worker: 'w2' }), undefined, 'the first lease would have ended here');
      assert.equal(await s.lease(t0 + 1799, { worker: 'w2' }), undefined);
      assert.equal((await s.take(t0 + 1801, { worker: 'w2' })).epoch, epoch + 1);
    });

    test('settles completed with the result, once; the lease is gone afterwards', async (s) => {
      const job = await s.add();
      const { epoch } = await s.take(t0);
      const result = { status: 'completed', answer: '42' };
      const done = await s.queue.settle(job.id, epoch, { kind: 'completed', result }, t0 + 5);
      assert.equal(done?.state, 'completed');
      assert.deepEqual(done?.result, result);
      assert.equal(done?.worker, undefined);
      assert.equal(done?.leaseUntil, undefined);
      assert.deepEqual(await s.get(job.id), done);
      assert.equal(await s.queue.settle(job.id, epoch, { kind: 'cancelled' }, t0 + 6), undefined);
      assert.equal(await s.queue.heartbeat(job.id, epoch, 1000, t0 + 6), 'lost');
      assert.equal(await s.lease(t0 + 10_000_000), undefined, 'a completed job is never leased again');
    });

    test('settles waiting: no worker holds the job and it is not leased until answered', async (s) => {
      const job = await s.add();
      const { epoch } = await s.take(t0);
      const waiting = await s.queue.settle(
        job.id,
        epoch,
        { kind: 'waiting', result: { status: 'awaiting_approval' } },
        t0 + 5,
      );
      assert.equal(waiting?.state, 'waiting');
      assert.deepEqual(waiting?.result, { status: 'awaiting_approval' });
      assert.equal(waiting?.worker, undefined);
      assert.deepEqual(await s.get(job.id), waiting, 'settle gives back the job as it now is');
      assert.equal(await s.lease(t0 + 10_000_000), undefined);
    });

    test('settles released: queued again at once, leasable at the same instant', async (s) => {
      const job = await s.add();
      const { epoch } = await s.take(t0);
      const released = await s.queue.settle(job.id, epoch, { kind: 'released' }, t0 + 50);
      assert.equal(released?.state, 'queued');
      assert.equal(released?.runAt, t0 + 50);
      assert.deepEqual(await s.get(job.id), released, 'settle gives back the job as it now is');
      assert.equal((await s.take(t0 + 50)).job.id, job.id);
    });

    test('settles cancelled: the job ends cancelled and is never leased again', async (s) => {
      const job = await s.add();
      const { epoch } = await s.take(t0);
      const cancelled = await s.queue.settle(job.id, epoch, { kind: 'cancelled' }, t0 + 5);
      assert.equal(cancelled?.state, 'cancelled');
      assert.deepEqual(await s.get(job.id), cancelled, 'settle gives back the job as it now is');
      assert.equal(await s.lease(t0 + 10_000_000), undefined);
    });

    test('retries a failed attempt after a backoff within its jitter bounds, then dead-letters it with the error', async (s) => {
      const job = await s.add({ retry: { attempts: 3, backoffMs: 1000 } });
      let now = t0;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const leased = await s.take(now);
        assert.equal(leased.job.attempts, attempt);
        const error = { code: 'tool_failed', message: `attempt ${attempt} broke` };
        const settled = await s.queue.settle(job.id, leased.epoch, { kind: 'failed', error }, now + 10);
        assert.deepEqual(settled?.error, error);
        assert.deepEqual(await s.get(job.id), settled, 'settle gives back the job as it now is');
        if (attempt === 3) {
          assert.equal(settled?.state, 'dead');
          assert.equal(settled?.attempts, 3);
          break;
        }
        assert.equal(settled?.state, 'queued');
        const [low, high] = backoffBounds(job.retry, attempt);
        const wait = settled!.runAt - (now + 10);
        assert.ok(wait >= low && wait <= high, `wait after attempt ${attempt}: ${wait} ms, expected ${low}..${high}`);
        assert.equal(await s.lease(settled!.runAt - 1), undefined, 'not leased during its backoff');
        now = settled!.runAt;
      }
      assert.equal(await s.lease(now + 10_000_000), undefined, 'a dead job is never leased again');
    });

    test('caps the backoff at maxBackoffMs and spreads retries with jitter', async (s) => {
      const waits: number[] = [];
      for (let i = 0; i < 6; i++) {
        const job = await s.add({ retry: { attempts: 9, backoffMs: 1000, maxBackoffMs: 1500 } });
        let now = t0;
        for (let attempt = 1; attempt <= 3; attempt++) {
          const leased = await s.take(now);
          assert.equal(leased.job.id, job.id);
          const settled = await s.queue.settle(
            job.id,
            leased.epoch,
            { kind: 'failed', error: { code: 'x', message: 'x' } },
            now,
          );
          const [low, high] = backoffBounds(job.retry, attempt);
          const wait = settled!.runAt - now;
          assert.ok(wait >= low && wait <= high, `wait after attempt ${attempt}: ${wait} ms, expected ${low}..${high}`);
          if (attempt === 3) waits.push(wait);
          now = settled!.runAt;
        }
        await s.queue.cancel(job.id, now);
      }
      // Six equal draws from a 750 ms range would mean no jitter at all.
      assert.ok(new Set(waits).size > 1, `every retry waited ${waits[0]} ms`);
    });

    test('dead-letters a failed attempt at once when the outcome says retry: false', async (s) => {
      const job = await s.add({ retry: { attempts: 5 } });
      const { epoch } = await s.take(t0);
      const error = { code: 'input_invalid', message: 'will never work' };
      const dead = await s.queue.settle(job.id, epoch, { kind: 'failed', error, retry: false }, t0 + 1);
      assert.equal(dead?.state, 'dead');
      assert.deepEqual(dead?.error, error);
    });

    test('dead-letters with lease_expired a job whose lease runs out on its last attempt', async (s) => {
      const job = await s.add({ retry: { attempts: 2 } });
      await s.take(t0, { leaseMs: 100 });
      const second = await s.take(t0 + 101, { leaseMs: 100 });
      assert.equal(second.job.attempts, 2);
      assert.equal(await s.lease(t0 + 202), undefined);
      const dead = await s.get(job.id);
      assert.equal(dead.state, 'dead');
      assert.equal(dead.error?.code, 'lease_expired');
      assert.equal(dead.worker, undefined);
      assert.equal(await s.queue.heartbeat(job.id, second.epoch, 100, t0 + 203), 'lost');
    });

    test('cancels a queued or waiting job at once, and a running one at its next heartbeat', async (s) => {
      const queued = await s.add();
      assert.equal((await s.queue.cancel(queued.id, t0)).state, 'cancelled');
      assert.equal(await s.lease(t0 + 1), undefined);

      const waiting = await s.add();
      const w = await s.take(t0 + 2);
      await s.queue.settle(waiting.id, w.epoch, { kind: 'waiting', result: { status: 'awaiting_approval' } }, t0 + 3);
      assert.equal((await s.queue.cancel(waiting.id, t0 + 4)).state, 'cancelled');

      const running = await s.add({}, t0 + 5);
      const r = await s.take(t0 + 5);
      const marked = await s.queue.cancel(running.id, t0 + 6);
      assert.equal(marked.state, 'running', 'a running job goes on until its worker stops it');
      assert.equal(marked.cancelRequested, true);
      assert.equal(await s.queue.heartbeat(running.id, r.epoch, 1000, t0 + 7), 'cancelled');
      const ended = await s.queue.settle(running.id, r.epoch, { kind: 'cancelled' }, t0 + 8);
      assert.equal(ended?.state, 'cancelled');
    });

    test('never runs again a job cancelled while running whose worker then vanished', async (s) => {
      const job = await s.add();
      await s.take(t0, { leaseMs: 100 });
      await s.queue.cancel(job.id, t0 + 1);
      assert.equal(await s.lease(t0 + 1000), undefined);
      assert.equal((await s.get(job.id)).state, 'cancelled');
    });

    test('retries a dead or cancelled job: queued again now with fresh attempts', async (s) => {
      const job = await s.add({ retry: { attempts: 1 } });
      const { epoch } = await s.take(t0);
      await s.queue.settle(job.id, epoch, { kind: 'failed', error: { code: 'x', message: 'x' } }, t0 + 1);
      const again = await s.queue.retry(job.id, t0 + 100);
      assert.equal(again.state, 'queued');
      assert.equal(again.attempts, 0);
      assert.equal(again.runAt, t0 + 100);
      assert.equal(again.runId, job.runId, 'the retry continues the same run');
      const leased = await s.take(t0 + 100);
      assert.equal(leased.job.attempts, 1);
      assert.equal(leased.epoch, epoch + 1, 'epochs keep growing across a retry');
      await s.queue.settle(job.id, leased.epoch, { kind: 'cancelled' }, t0 + 101);
      assert.equal((await s.queue.retry(job.id, t0 + 102)).state, 'queued');
    });

    test('answers a waiting job: queued with the decision, which the next settle clears', async (s) => {
      const job = await s.add();
      const first = await s.take(t0);
      await s.queue.settle(job.id, first.epoch, { kind: 'waiting', result: { status: 'awaiting_approval' } }, t0 + 1);
      const decision = { action: 'approve', note: 'go ahead' };
      const answered = await s.queue.answer(job.id, decision, t0 + 50);
      assert.equal(answered.state, 'queued');
      assert.deepEqual(answered.decision, decision);
      const second = await s.take(t0 + 50);
      assert.deepEqual(second.job.decision, decision, 'the worker that continues the run gets the decision');
      const done = await s.queue.settle(
        job.id,
        second.epoch,
        { kind: 'completed', result: { status: 'completed' } },
        t0 + 51,
      );
      assert.equal(done?.decision, undefined);
    });

    test('refuses a change from the wrong state with input_invalid, changing nothing', async (s) => {
      const job = await s.add();
      await assert.rejects(s.queue.retry(job.id, t0), hasCode('input_invalid'));
      await assert.rejects(s.queue.answer(job.id, { action: 'approve' }, t0), hasCode('input_invalid'));
      const { epoch } = await s.take(t0);
      await assert.rejects(s.queue.answer(job.id, { action: 'approve' }, t0), hasCode('input_invalid'));
      await assert.rejects(s.queue.retry(job.id, t0), hasCode('input_invalid'));
      await s.queue.settle(job.id, epoch, { kind: 'completed', result: { status: 'completed' } }, t0 + 1);
      await assert.rejects(s.queue.cancel(job.id, t0 + 2), hasCode('input_invalid'));
      await assert.rejects(s.queue.retry(job.id, t0 + 2), hasCode('input_invalid'));
      const after = await s.get(job.id);
      assert.equal(after.state, 'completed');
      assert.equal(after.decision, undefined);
    });

    test('answers an unknown id with job_not_found, lost or undefined', async ({ queue }) => {
      const id = `job_${randomUUID().replaceAll('-', '')}`;
      await assert.rejects(queue.retry(id, t0), hasCode('job_not_found'));
      await assert.rejects(queue.cancel(id, t0), hasCode('job_not_found'));
      await assert.rejects(queue.answer(id, {}, t0), hasCode('job_not_found'));
      assert.equal(await queue.get(id), undefined);
      assert.equal(await queue.heartbeat(id, 1, 1000, t0), 'lost');
      assert.equal(await queue.settle(id, 1, { kind: 'released' }, t0), undefined);
    });

    test('does not lease from a paused queue until resumed; its running jobs go on', async (s) => {
      const running = await s.add();
      const r = await s.take(t0);
      const waiting = await s.add();
      const other = fresh('q');
      const elsewhere = (await s.queue.enqueue({ team: s.team, goal: 'elsewhere', queue: other }, t0)).job;
      await s.queue.pause(s.q);
      assert.ok((await s.queue.paused()).includes(s.q));
      assert.ok(!(await s.queue.paused()).includes(other));
      const lease = (now: number) => s.queue.lease({ worker: 'w', leaseMs: 1000, queues: [s.q, other], now });
      assert.equal((await lease(t0 + 1))?.job.id, elsewhere.id, 'other queues are leased from as before');
      assert.equal(await lease(t0 + 2), undefined);
      assert.equal(await s.queue.heartbeat(running.id, r.epoch, 1000, t0 + 3), 'held');
      assert.equal(
        (await s.queue.settle(running.id, r.epoch, { kind: 'completed', result: { status: 'completed' } }, t0 + 4))
          ?.state,
        'completed',
      );
      await s.queue.resume(s.q);
      assert.ok(!(await s.queue.paused()).includes(s.q));
      assert.equal((await lease(t0 + 5))?.job.id, waiting.id);
    });

    test('does not let a paused, unasked-for or saturated backlog hold back a ready job behind it', async (s) => {
      const limited = fresh('team');
      const paused = fresh('q');
      const unasked = fresh('q');
      // Each backlog is older and of higher priority than the job that should be leased.
      for (let i = 0; i < 100; i++) {
        await s.queue.enqueue({ team: s.team, goal: 'paused', queue: paused, priority: 9 }, t0);
        await s.queue.enqueue({ team: s.team, goal: 'unasked', queue: unasked, priority: 9 }, t0);
        await s.add({ team: limited, priority: 9 });
      }
      await s.queue.pause(paused);
      const ready = await s.add({ priority: 0 }, t0 + 1);
      const lease = (worker: string) =>
        s.queue.lease({ worker, leaseMs: 1000, queues: [paused, s.q], teamLimits: { [limited]: 1 }, now: t0 + 10 });
      assert.equal((await lease('a'))?.job.team, limited);
      assert.equal((await lease('b'))?.job.id, ready.id);
      await s.queue.resume(paused);
      for (const job of await s.queue.list({ queue: paused, limit: 1000 })) await s.queue.cancel(job.id, t0);
      for (const job of await s.queue.list({ queue: unasked, limit: 1000 })) await s.queue.cancel(job.id, t0);
    });

    test('lists jobs newest first, by state and queue, at most limit', async (s) => {
      const a = await s.add({}, t0);
      const b = await s.add({}, t0 + 1);
      const c = await s.add({}, t0 + 2);
      await s.take(t0 + 3);
      const ids = (jobs: Job[]) => jobs.map((j) => j.id);
      assert.deepEqual(ids(await s.queue.list({ queue: s.q })), [c.id, b.id, a.id]);
      assert.deepEqual(ids(await s.queue.list({ queue: s.q, state: 'queued' })), [c.id, b.id]);
      assert.deepEqual(ids(await s.queue.list({ queue: s.q, state: 'running' })), [a.id]);
      assert.deepEqual(ids(await s.queue.list({ queue: s.q, limit: 1 })), [c.id]);
    });

    test('counts jobs by state', async (s) => {
      const before = await s.queue.counts();
      assert.deepEqual(Object.keys(before).sort(), [...jobStates].sort());
      const [a, b, c] = [await s.add({}, t0), await s.add({}, t0 + 1), await s.add({}, t0 + 2)];
      await s.add({}, t0 + 3);
      const leasedA = await s.take(t0 + 10);
      assert.equal(leasedA.job.id, a.id);
      const leasedB = await s.take(t0 + 10);
      await s.queue.settle(b.id, leasedB.epoch, { kind: 'completed', result: { status: 'completed' } }, t0 + 11);
      await s.queue.cancel(c.id, t0 + 12);
      const after = await s.queue.counts();
      const delta = Object.fromEntries(jobStates.map((state) => [state, after[state] - before[state]]));
      assert.deepEqual(delta, { queued: 1, running: 1, waiting: 0, completed: 1, dead: 0, cancelled: 1 });
    });

    for (const seed of [1, 7, 2026]) {
      test(`never runs more of a team's jobs at once than its limit, under random load (seed ${seed})`, async (s) => {
        const random = mulberry32(seed);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const alpha = fresh('alpha');
        const beta = fresh('beta');
        const free = fresh('free');
        const agent = fresh('agent');
        const teamLimits = { [alpha]: 2, [beta]: 1, [agent]: 1 };
        const owners: Partial<JobInput>[] = [{ team: alpha }, { team: beta }, { team: free }, { agent }];
        const nameOf = (job: Job) => job.team ?? job.agent!;
        const held: LeasedJob[] = [];
        const peak = new Map<string, number>();
        let now = t0;
        let leases = 0;
        let settled = 0;

        const live = async () => {
          const jobs = await s.queue.list({ queue: s.q, limit: 10_000 });
          const running = new Map<string, number>();
          for (const job of jobs)
            if (job.state === 'running' && job.leaseUntil! >= now)
              running.set(nameOf(job), (running.get(nameOf(job)) ?? 0) + 1);
          return { jobs, running };
        };

        for (let step = 0; step < 300; step++) {
          const where = `seed ${seed}, step ${step}`;
          const roll = random();
          let refused = false;
          if (roll < 0.3) {
            await s.add(
              {
                ...pick(owners),
                priority: Math.floor(random() * 5) - 2,
                runAt: now + Math.floor(random() * 2000),
                retry: { attempts: 3, backoffMs: 200 },
              },
              now,
            );
          } else if (roll < 0.6) {
            const leased = await s.lease(now, {
              worker: `w${step}`,
              leaseMs: 500 + Math.floor(random() * 2500),
              teamLimits,
            });
            if (leased) {
              held.push(leased);
              leases++;
            } else refused = true;
          } else if (roll < 0.8 && held.length > 0) {
            const { job, epoch } = held.splice(Math.floor(random() * held.length), 1)[0]!;
            const outcome = pick([
              { kind: 'completed', result: { status: 'completed' } },
              { kind: 'failed', error: { code: 'x', message: 'x' } },
              { kind: 'released' },
              { kind: 'waiting', result: { status: 'awaiting_approval' } },
            ] as const);
            if (await s.queue.settle(job.id, epoch, outcome, now)) settled++;
          } else if (roll < 0.9 && held.length > 0) {
            const { job, epoch } = pick(held);
            await s.queue.heartbeat(job.id, epoch, 500 + Math.floor(random() * 2500), now);
          } else if (roll < 0.93) {
            const waiting = await s.queue.list({ queue: s.q, state: 'waiting', limit: 1 });
            if (waiting[0]) await s.queue.answer(waiting[0].id, { action: 'approve' }, now);
          } else {
            now += Math.floor(random() * 1500);
          }

          const { jobs, running } = await live();
          for (const [name, limit] of Object.entries(teamLimits)) {
            const n = running.get(name) ?? 0;
            assert.ok(n <= limit, `${where}: ${n} jobs of ${name} run at once, limit ${limit}`);
            peak.set(name, Math.max(peak.get(name) ?? 0, n));
          }
          if (refused) {
            // Nothing was leased: every job that could have been belongs to a team at its limit.
            for (const job of jobs) {
              const ready =
                (job.state === 'queued' && job.runAt <= now) || (job.state === 'running' && job.leaseUntil! < now);
              const limit = teamLimits[nameOf(job)];
              assert.ok(
                !ready || (limit !== undefined && (running.get(nameOf(job)) ?? 0) >= limit),
                `${where}: job ${job.id} of ${nameOf(job)} was ready but nothing was leased`,
              );
            }
          }
        }
        // The invariant held under load, not because nothing ran.
        assert.ok(leases > 40 && settled > 20, `only ${leases} leases and ${settled} settles`);
        for (const [name, limit] of Object.entries(teamLimits))
          assert.equal(peak.get(name), limit, `${name} never reached its limit`);
      });
    }

    test('refuses bad input with input_invalid naming the field, and enqueues nothing', async (s) => {
      const before = await s.queue.counts();
      const bad: [unknown, string][] = [
        [{ team: s.team, goal: 'x', queue: s.q, colour: 'red' }, ''],
        [{ team: s.team, goal: '   ', queue: s.q }, 'goal'],
        [{ team: s.team, agent: 'someone', goal: 'x', queue: s.q }, ''],
        [{ goal: 'x', queue: s.q }, ''],
        [{ team: s.team, goal: 'x', queue: s.q, runAt: t0 - 3_600_000 }, 'runAt'],
        [{ team: s.team, goal: 'x', queue: s.q, budget: { maxSteps: 'ten' } }, 'budget.maxSteps'],
        [{ team: s.team, goal: 'x', queue: s.q, budget: { maxCostUsd: -1 } }, 'budget.maxCostUsd'],
        [{ team: s.team, goal: 'x', queue: s.q, retry: { attempts: 0 } }, 'retry.attempts'],
        [{ team: s.team, goal: 'x', queue: s.q, priority: 1.5 }, 'priority'],
      ];
      for (const [input, field] of bad) {
        await assert.rejects(
          s.queue.enqueue({ ...(input as JobInput), dedupeKey: s.key('bad') }, t0),
          (error: unknown) => {
            hasCode('input_invalid')(error);
            if (field) assert.equal((error as CadreError).details?.field, field, JSON.stringify(input));
            return true;
          },
          JSON.stringify(input),
        );
      }
      assert.deepEqual(await s.queue.list({ queue: s.q }), []);
      assert.deepEqual(await s.queue.counts(), before);
      // Nothing holds the dedupe key either.
      assert.equal(
        (await s.queue.enqueue({ team: s.team, goal: 'x', queue: s.q, dedupeKey: s.key('bad') }, t0)).created,
        true,
      );
    });
  });
}
