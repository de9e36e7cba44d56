import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CadreError, openCadreStore } from 'cadre';
import { ScheduleStore, SqliteJobQueue, type Job, type ScheduleInput } from 'cadre/jobs';

// The clock is the `now` argument of add and tick: these tests never read the real time.
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const minutes = (n: number): number => n * 60_000;
const job = { agent: 'echo', goal: 'Summarise yesterday' };

/** The embedded queue, counting the enqueues its dedupe key turned into the job already there. */
class CountingQueue extends SqliteJobQueue {
  deduped = 0;
  override async enqueue(...args: Parameters<SqliteJobQueue['enqueue']>): ReturnType<SqliteJobQueue['enqueue']> {
    const result = await super.enqueue(...args);
    if (!result.created) this.deduped++;
    return result;
  }
}

function embedded(db = openCadreStore({ path: ':memory:' }).db) {
  return { db, schedules: new ScheduleStore(db), queue: new CountingQueue(db) };
}

/** The fire instant a scheduled job was queued for, read from its dedupe key `schedule:<id>:<instant>`. */
function instantOf(queued: Job): string {
  const match = /^schedule:([^:]+):(\d+)$/.exec(queued.dedupeKey ?? '');
  expect(match?.[1]).toBe(queued.scheduleId);
  return iso(Number(match![2]));
}

/** Ticks every `stepMs` from `from` to `to` and returns, per tick that queued jobs, the instant they were queued for. */
async function tickEvery(
  { schedules, queue }: ReturnType<typeof embedded>,
  from: string,
  to: string,
  stepMs: number,
): Promise<{ tick: string; fired: string }[]> {
  const queued: { tick: string; fired: string }[] = [];
  for (let now = at(from); now <= at(to); now += stepMs)
    for (const id of await schedules.tick(queue, now))
      queued.push({ tick: iso(now), fired: instantOf((await queue.get(id))!) });
  return queued;
}

describe('ScheduleStore: a daily 07:00 Europe/Paris schedule across the 2026 DST changes', () => {
  // Nobody runs the queued jobs here: overlap lets each day's fire queue although the last is still queued.
  const daily: ScheduleInput = { timing: { cron: '0 7 * * *', tz: 'Europe/Paris' }, job, overlap: true };

  it('queues exactly one job at 07:00 local on each day around the March change, at no other tick', async () => {
    const store = embedded();
    const schedule = store.schedules.add(daily, at('2026-03-27T12:00:00Z'));
    // A tick every 15 minutes also lands on 06:00Z and 07:00Z, where a schedule stuck on one UTC offset would fire.
    expect(await tickEvery(store, '2026-03-27T12:00:00Z', '2026-03-31T00:00:00Z', minutes(15))).toEqual([
      { tick: '2026-03-28T06:00:00.000Z', fired: '2026-03-28T06:00:00.000Z' }, // 07:00 CET
      { tick: '2026-03-29T05:00:00.000Z', fired: '2026-03-29T05:00:00.000Z' }, // 07:00 CEST, 23 h later
      { tick: '2026-03-30T05:00:00.000Z', fired: '2026-03-30T05:00:00.000Z' },
    ]);
    expect(store.schedules.get(schedule.id)?.nextAt).toBe(at('2026-03-31T05:00:00Z'));
    expect((await store.queue.list()).every((j) => j.scheduleId === schedule.id && j.goal === job.goal)).toBe(true);
  });

  it('queues exactly one job at 07:00 local on each day around the October change, at no other tick', async () => {
    const store = embedded();
    store.schedules.add(daily, at('2026-10-23T12:00:00Z'));
    expect(await tickEvery(store, '2026-10-23T12:00:00Z', '2026-10-27T00:00:00Z', minutes(15))).toEqual([
      { tick: '2026-10-24T05:00:00.000Z', fired: '2026-10-24T05:00:00.000Z' }, // 07:00 CEST
      { tick: '2026-10-25T06:00:00.000Z', fired: '2026-10-25T06:00:00.000Z' }, // 07:00 CET, 25 h later
      { tick: '2026-10-26T06:00:00.000Z', fired: '2026-10-26T06:00:00.000Z' },
    ]);
    expect(await store.queue.list()).toHaveLength(3);
  });

  it('queues a fire once when a scheduler ticks late within grace, and not again on the next ticks', async () => {
    const store = embedded();
    store.schedules.add(daily, at('2026-03-28T12:00:00Z'));
    expect(await tickEvery(store, '2026-03-29T05:00:30Z', '2026-03-29T05:10:00Z', 10_000)).toEqual([
      { tick: '2026-03-29T05:00:30.000Z', fired: '2026-03-29T05:00:00.000Z' },
    ]);
  });
});

describe('ScheduleStore: a worker down over three fire times', () => {
  const hourly = (missed: 'skip' | 'once'): ScheduleInput => ({
    timing: { cron: '0 * * * *', missed },
    job,
    overlap: true, // the missed-fire policy alone decides here
  });
  const start = at('2026-01-10T00:30:00Z');

  it("with missed: 'skip', queues nothing for the missed fires and plans the next future one", async () => {
    const store = embedded();
    const schedule = store.schedules.add(hourly('skip'), start);
    expect(await store.schedules.tick(store.queue, at('2026-01-10T01:00:00Z'))).toHaveLength(1);
    // Down from just after 01:00 until 04:30: 02:00, 03:00 and 04:00 pass unseen.
    expect(await store.schedules.tick(store.queue, at('2026-01-10T04:30:00Z'))).toEqual([]);
    expect(store.schedules.get(schedule.id)?.nextAt).toBe(at('2026-01-10T05:00:00Z'));
    expect(await tickEvery(store, '2026-01-10T04:31:00Z', '2026-01-10T05:30:00Z', minutes(1))).toEqual([
      { tick: '2026-01-10T05:00:00.000Z', fired: '2026-01-10T05:00:00.000Z' },
    ]);
    expect(await store.queue.list()).toHaveLength(2);
  });

  it("with missed: 'once', queues exactly one job, for the latest missed fire, due at once", async () => {
    const store = embedded();
    const schedule = store.schedules.add(hourly('once'), start);
    expect(await store.schedules.tick(store.queue, at('2026-01-10T01:00:00Z'))).toHaveLength(1);
    const back = at('2026-01-10T04:30:00Z');
    const [caughtUp, ...rest] = await store.schedules.tick(store.queue, back);
    expect(rest).toEqual([]);
    const missed = (await store.queue.get(caughtUp!))!;
    expect(instantOf(missed)).toBe('2026-01-10T04:00:00.000Z');
    expect(missed.runAt).toBe(back);
    expect(store.schedules.get(schedule.id)?.nextAt).toBe(at('2026-01-10T05:00:00Z'));
    expect(await tickEvery(store, '2026-01-10T04:31:00Z', '2026-01-10T05:30:00Z', minutes(1))).toEqual([
      { tick: '2026-01-10T05:00:00.000Z', fired: '2026-01-10T05:00:00.000Z' },
    ]);
    expect(await store.queue.list()).toHaveLength(3);
  });
});

describe('ScheduleStore: two schedulers on one database', () => {
  it('never queue the same instant twice, whichever ticks first or whether they tick at once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cadre-schedules-')), 'cadre.db');
    const a = embedded(openCadreStore({ path }).db);
    // A second connection to the file, as a scheduler in another process would have.
    const other = new Database(path);
    other.pragma('journal_mode = WAL');
    other.pragma('busy_timeout = 5000');
    const b = embedded(other);
    try {
      const start = at('2026-01-10T00:00:30Z');
      const tens = a.schedules.add({ timing: { cron: '*/10 * * * *' }, job, overlap: true }, start);
      const hours = a.schedules.add({ timing: { cron: '0 * * * *', missed: 'once' }, job, overlap: true }, start);
      const queuedBy = { a: [] as string[], b: [] as string[] };
      // Every minute for twelve hours but 06:01-08:25, when both are down; the two
      // clocks sometimes agree and sometimes differ by seconds, and each takes turns going first.
      const instants: [number, number][] = [];
      for (let m = 1; m <= 720; m++) {
        if (m > 360 && m <= 505) continue;
        const now = start + minutes(m);
        instants.push([now, now + (m % 3) * 7_000]);
      }
      for (const [i, [nowA, nowB]] of instants.entries()) {
        const tickA = () => a.schedules.tick(a.queue, nowA).then((ids) => queuedBy.a.push(...ids));
        const tickB = () => b.schedules.tick(b.queue, nowB).then((ids) => queuedBy.b.push(...ids));
        // Started in turn without waiting: the second reads the plan before the first has moved it on.
        await Promise.all((i % 2 ? [tickB, tickA] : [tickA, tickB]).map((tick) => tick()));
      }
      const jobs = await a.queue.list({ limit: 10_000 });
      const keys = jobs.map((j) => j.dedupeKey!);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...queuedBy.a, ...queuedBy.b].sort()).toEqual(jobs.map((j) => j.id).sort());
      const fired = (id: string) =>
        jobs
          .filter((j) => j.scheduleId === id)
          .map(instantOf)
          .sort();
      const every = (stepMinutes: number, skip: (m: number) => boolean) =>
        Array.from({ length: 720 / stepMinutes }, (_, i) => (i + 1) * stepMinutes)
          .filter((m) => !skip(m))
          .map((m) => iso(at('2026-01-10T00:00:00Z') + minutes(m)));
      // Ten-minute fires in the downtime are skipped; of the hourly 07:00 and 08:00 only 08:00 runs ('once').
      expect(fired(tens.id)).toEqual(every(10, (m) => m >= 370 && m <= 500));
      expect(fired(hours.id)).toEqual(every(60, (m) => m === 420));
      expect(queuedBy.a.length).toBeGreaterThan(0);
      expect(queuedBy.b.length).toBeGreaterThan(0);
      // The race was run, not dodged: many times the second scheduler reached an instant the first had queued.
      expect(a.queue.deduped + b.queue.deduped).toBeGreaterThan(20);
    } finally {
      other.close();
      openCadreStore({ path }).close();
    }
  });
});

describe('ScheduleStore: overlap', () => {
  const hourly: ScheduleInput = { timing: { cron: '0 * * * *' }, job };
  const hour = (h: number) => at(`2026-01-10T${String(h).padStart(2, '0')}:00:00Z`);

  it('skips a fire while the previous job is still queued or running, counting it in skipped', async () => {
    const store = embedded();
    const schedule = store.schedules.add(hourly, hour(0));
    const [first] = await store.schedules.tick(store.queue, hour(1));
    expect(await store.schedules.tick(store.queue, hour(2))).toEqual([]); // first is still queued
    expect(store.schedules.get(schedule.id)).toMatchObject({ skipped: 1, nextAt: hour(3), lastJobId: first });
    const leased = await store.queue.lease({ worker: 'w', leaseMs: minutes(120), now: hour(2) + 1 });
    expect(leased?.job.id).toBe(first);
    expect(await store.schedules.tick(store.queue, hour(3))).toEqual([]); // first is running
    expect(store.schedules.get(schedule.id)?.skipped).toBe(2);
    await store.queue.settle(
      first!,
      leased!.epoch,
      { kind: 'completed', result: { status: 'completed' } },
      hour(3) + 1,
    );
    const [next] = await store.schedules.tick(store.queue, hour(4));
    expect(instantOf((await store.queue.get(next!))!)).toBe(iso(hour(4)));
    expect(store.schedules.get(schedule.id)).toMatchObject({ skipped: 2, lastJobId: next, lastFireAt: hour(4) });
  });

  it('queues every fire with overlap: true, however many jobs are still queued', async () => {
    const store = embedded();
    const schedule = store.schedules.add({ ...hourly, overlap: true }, hour(0));
    for (let h = 1; h <= 3; h++) expect(await store.schedules.tick(store.queue, hour(h))).toHaveLength(1);
    expect(store.schedules.get(schedule.id)?.skipped).toBe(0);
    expect((await store.queue.counts()).queued).toBe(3);
  });
});

describe('ScheduleStore: bad input', () => {
  const now = at('2026-01-10T00:00:00Z');
  const bad: [string, unknown, string][] = [
    ['a bad cron', { timing: { cron: '61 * * * *' }, job }, 'cron'],
    ['a cron that is a date', { timing: { cron: '2026-01-10T07:00' }, job }, 'cron'],
    ['an unknown time zone', { timing: { cron: '0 7 * * *', tz: 'Europe/Pariss' }, job }, 'tz'],
    ['both cron and everyMs', { timing: { cron: '0 7 * * *', everyMs: 60_000 }, job }, 'cron'],
    ['an interval under a second', { timing: { everyMs: 10 }, job }, 'everyMs'],
    [
      'a scheduled job with a runAt',
      { timing: { cron: '0 7 * * *' }, job: { ...job, runAt: now + 1000 } },
      'job.runAt',
    ],
    [
      'a scheduled job with a dedupeKey',
      { timing: { cron: '0 7 * * *' }, job: { ...job, dedupeKey: 'k' } },
      'job.dedupeKey',
    ],
    [
      'a scheduled job with an empty goal',
      { timing: { cron: '0 7 * * *' }, job: { agent: 'echo', goal: ' ' } },
      'goal',
    ],
  ];

  for (const [what, input, field] of bad)
    it(`refuses ${what} with input_invalid naming ${field}, storing nothing`, () => {
      const store = embedded();
      let thrown: unknown;
      try {
        store.schedules.add(input as ScheduleInput, now);
      } catch (error) {
        thrown = error;
      }
      expect(CadreError.isInstance(thrown)).toBe(true);
      expect(thrown).toMatchObject({ code: 'input_invalid', details: { field } });
      expect(store.schedules.list()).toEqual([]);
      expect(store.schedules.nextDue()).toBeUndefined();
    });
});
