import { describe, expect, it } from 'vitest';
import { CadreError } from '../../src/core/errors.js';
import { checkScheduleTiming, firesDue, nextFireAfter, type ScheduleTiming } from '../../src/jobs/schedule-timing.js';

// Every instant is fixed: these tests never read the real clock.
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const minutes = (n: number): number => n * 60_000;

/** The next `count` fire times after `from`, as ISO strings, each one strictly after the last. */
function fireTimes(timing: ScheduleTiming, from: string, count: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let after = at(from);
  for (let i = 0; i < count; i++) {
    const next = nextFireAfter(timing, after);
    out.push(iso(next));
    if (next === undefined) break;
    after = next;
  }
  return out;
}

// 2026 DST changes. Europe/Paris: Sun 29 March at 01:00Z (02:00 CET -> 03:00 CEST) and Sun 25 October
// at 01:00Z (03:00 CEST -> 02:00 CET). America/New_York: Sun 8 March at 07:00Z (02:00 EST -> 03:00 EDT).
describe('cron schedules across DST', () => {
  const paris = checkScheduleTiming({ cron: '0 7 * * *', tz: 'Europe/Paris' });

  it('fires a daily 07:00 Paris job at 07:00 local on both sides of the March change', () => {
    expect(fireTimes(paris, '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T06:00:00.000Z', // Saturday, CET (UTC+1)
      '2026-03-29T05:00:00.000Z', // Sunday, already CEST (UTC+2): 23 h after the day before
      '2026-03-30T05:00:00.000Z',
    ]);
  });

  it('fires a daily 07:00 Paris job at 07:00 local on both sides of the October change', () => {
    expect(fireTimes(paris, '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T05:00:00.000Z', // Saturday, CEST (UTC+2)
      '2026-10-25T06:00:00.000Z', // Sunday, back to CET (UTC+1): 25 h after the day before
      '2026-10-26T06:00:00.000Z',
    ]);
  });

  it('runs a 02:30 Paris job at 03:00 CEST on the spring-forward day, when 02:30 does not exist', () => {
    // croner 11 treats a single-valued time as a fixed-time job (as Vixie cron does): a time in the DST
    // gap runs at the first valid instant after the gap, the same day. It neither skips the day nor
    // shifts by an hour to 03:30.
    const timing = checkScheduleTiming({ cron: '30 2 * * *', tz: 'Europe/Paris' });
    expect(fireTimes(timing, '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the end of the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('runs a 02:30 Paris job once, at the first 02:30, on the fall-back day when 02:30 happens twice', () => {
    const timing = checkScheduleTiming({ cron: '30 2 * * *', tz: 'Europe/Paris' });
    expect(fireTimes(timing, '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST; the second 02:30 (01:30Z, CET) does not fire
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('keeps a */30 Paris job on real time through both changes: no gap hour, and the repeated hour twice', () => {
    // Wildcard or stepped times are interval jobs to croner: gap times are skipped, repeated times
    // run on both occurrences, so the job fires every 30 real minutes across the change.
    const timing = checkScheduleTiming({ cron: '*/30 * * * *', tz: 'Europe/Paris' });
    expect(fireTimes(timing, '2026-03-29T00:10:00Z', 3)).toEqual([
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
    ]);
    expect(fireTimes(timing, '2026-10-24T23:50:00Z', 4)).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('fires a daily 09:00 New York job at 09:00 local on both sides of the March change', () => {
    const timing = checkScheduleTiming({ cron: '0 9 * * *', tz: 'America/New_York' });
    expect(fireTimes(timing, '2026-03-07T00:00:00Z', 2)).toEqual([
      '2026-03-07T14:00:00.000Z', // EST (UTC-5)
      '2026-03-08T13:00:00.000Z', // EDT (UTC-4)
    ]);
  });

  it('evaluates a cron in UTC when no tz is given, with 6 fields meaning seconds first', () => {
    const timing = checkScheduleTiming({ cron: '15 0 7 * * *' });
    expect(timing.tz).toBe('UTC');
    expect(nextFireAfter(timing, at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T07:00:15Z'));
  });

  it('is strictly after `after` and never before startAt, which may itself fire', () => {
    const daily = checkScheduleTiming({ cron: '0 7 * * *', startAt: at('2026-05-10T07:00:00Z') });
    expect(nextFireAfter(daily, at('2026-05-01T00:00:00Z'))).toBe(at('2026-05-10T07:00:00Z'));
    expect(nextFireAfter(daily, at('2026-05-10T07:00:00Z'))).toBe(at('2026-05-11T07:00:00Z'));
    expect(nextFireAfter(daily, at('2026-05-10T06:59:59.999Z'))).toBe(at('2026-05-10T07:00:00Z'));
  });
});

describe('interval schedules', () => {
  const startAt = at('2026-01-01T00:00:05Z');
  const every15 = checkScheduleTiming({ everyMs: minutes(15), startAt });

  it('fires at startAt + k * 15 min', () => {
    expect(fireTimes(every15, '2025-12-31T00:00:00Z', 3)).toEqual([
      '2026-01-01T00:00:05.000Z',
      '2026-01-01T00:15:05.000Z',
      '2026-01-01T00:30:05.000Z',
    ]);
  });

  it('answers strictly after `after`, even when `after` is a fire time', () => {
    expect(nextFireAfter(every15, startAt)).toBe(startAt + minutes(15));
    expect(nextFireAfter(every15, startAt + minutes(15) - 1)).toBe(startAt + minutes(15));
    expect(nextFireAfter(every15, startAt + minutes(15))).toBe(startAt + minutes(30));
  });
});

describe('firesDue', () => {
  const startAt = at('2026-01-01T00:00:00Z');
  const every15 = (missed: 'skip' | 'once'): ScheduleTiming =>
    checkScheduleTiming({ everyMs: minutes(15), startAt, missed });

  it('fires the planned instant when the scheduler is within grace of it', () => {
    const due = startAt + minutes(15);
    expect(firesDue(every15('skip'), due, due + 5_000)).toEqual({ fire: [due], next: due + minutes(15) });
  });

  it("with 'skip', fires nothing after a worker was down over three fire times, and plans the next one", () => {
    const due = startAt + minutes(15);
    const now = due + minutes(40); // missed 00:15, 00:30 and 00:45; the 00:45 one is 10 min late
    const { fire, next } = firesDue(every15('skip'), due, now);
    expect(fire).toEqual([]);
    expect(next).toBe(startAt + minutes(60));
    expect(next).toBeGreaterThan(now);
  });

  it("with 'once', fires exactly one job, for the latest missed fire time, after three were missed", () => {
    const due = startAt + minutes(15);
    const now = due + minutes(40);
    const { fire, next } = firesDue(every15('once'), due, now);
    expect(fire).toEqual([startAt + minutes(45)]);
    expect(next).toBe(startAt + minutes(60));
    expect(next).toBeGreaterThan(now);
  });

  it("with 'once' on a Paris cron, fires the latest missed 07:00 across the DST change", () => {
    const timing = checkScheduleTiming({ cron: '0 7 * * *', tz: 'Europe/Paris', missed: 'once' });
    // Down from before Saturday's 07:00 CET until Monday noon: missed Sat, Sun (CEST) and Mon.
    const result = firesDue(timing, at('2026-03-28T06:00:00Z'), at('2026-03-30T12:00:00Z'));
    expect(result.fire.map(iso)).toEqual(['2026-03-30T05:00:00.000Z']);
    expect(iso(result.next)).toBe('2026-03-31T05:00:00.000Z');
  });

  it("runs a fire time that is itself on time even under 'skip', though earlier ones were missed", () => {
    const timing = checkScheduleTiming({ cron: '0 7 * * *' });
    const result = firesDue(timing, at('2026-01-01T07:00:00Z'), at('2026-01-03T07:00:30Z'));
    expect(result).toEqual({ fire: [at('2026-01-03T07:00:00Z')], next: at('2026-01-04T07:00:00Z') });
    // A `now` exactly on a fire time counts that fire time as the latest one.
    const exact = firesDue(timing, at('2026-01-01T07:00:00Z'), at('2026-01-03T07:00:00Z'));
    expect(exact).toEqual({ fire: [at('2026-01-03T07:00:00Z')], next: at('2026-01-04T07:00:00Z') });
  });

  it('takes a custom grace', () => {
    const due = startAt + minutes(15);
    expect(firesDue(every15('skip'), due, due + minutes(3), minutes(5)).fire).toEqual([due]);
    expect(firesDue(every15('skip'), due, due + minutes(3), minutes(1)).fire).toEqual([]);
  });

  it('fires nothing and keeps the plan when the planned instant is still ahead of now', () => {
    const due = startAt + minutes(15);
    expect(firesDue(every15('once'), due, due - 1_000)).toEqual({ fire: [], next: due });
  });
});

describe('checkScheduleTiming', () => {
  function rejection(input: unknown): CadreError {
    try {
      checkScheduleTiming(input);
    } catch (error) {
      if (CadreError.isInstance(error)) return error;
      throw error;
    }
    throw new Error(`accepted ${JSON.stringify(input)}`);
  }

  it.each([
    ['a minute of 61', { cron: '61 * * * *' }, 'cron'],
    ['four fields', { cron: '* * * *' }, 'cron'],
    ['a one-off date instead of a cron', { cron: '2026-01-01T00:00:00' }, 'cron'],
    ['a cron that never fires', { cron: '0 0 31 2 *' }, 'cron'],
    ['an unknown tz', { cron: '0 7 * * *', tz: 'Mars/Olympus' }, 'tz'],
    ['a tz on an interval', { everyMs: 60_000, tz: 'Europe/Paris' }, 'tz'],
    ['everyMs of 10', { everyMs: 10 }, 'everyMs'],
    ['a fractional everyMs', { everyMs: 1500.5 }, 'everyMs'],
    ['both cron and everyMs', { cron: '0 7 * * *', everyMs: 60_000 }, 'everyMs'],
    ['neither cron nor everyMs', {}, 'everyMs'],
    ['an unknown missed policy', { everyMs: 60_000, missed: 'all' }, 'missed'],
    ['a non-finite startAt', { everyMs: 60_000, startAt: Number.NaN }, 'startAt'],
    ['a misspelt field', { cron: '0 7 * * *', timezone: 'Europe/Paris' }, 'timezone'],
  ])('refuses %s with input_invalid naming the field', (_name, input, field) => {
    const error = rejection(input);
    expect(error.code).toBe('input_invalid');
    expect(error.kind).toBe('user');
    expect(error.message).toContain(field);
  });

  it('says "both" or "neither" for the cron / everyMs rule', () => {
    expect(rejection({ cron: '0 7 * * *', everyMs: 60_000 }).message).toMatch(/cron.*everyMs.*not both/);
    expect(rejection({}).message).toMatch(/cron.*everyMs.*neither/);
  });

  it('fills in the defaults: tz UTC for cron and missed skip', () => {
    expect(checkScheduleTiming({ cron: '0 7 * * *' })).toEqual({ cron: '0 7 * * *', tz: 'UTC', missed: 'skip' });
    expect(checkScheduleTiming({ everyMs: 60_000, startAt: 5 })).toEqual({
      everyMs: 60_000,
      startAt: 5,
      missed: 'skip',
    });
  });
});
