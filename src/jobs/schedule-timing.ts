import { Cron } from 'croner';
import { CadreError } from '../core/errors.js';
import { rejectUnknownKeys } from '../core/unknown-keys.js';

/** When a schedule fires: a cron expression in a time zone, or a fixed interval. */
export interface ScheduleTiming {
  /** A cron expression (5 fields, or 6 with seconds), evaluated in `tz`. Exactly one of cron / everyMs. */
  cron?: string;
  /** IANA time zone for cron, e.g. 'Europe/Paris'; default 'UTC'. */
  tz?: string;
  /** A fixed interval in ms (>= 1000), counted from `startAt`. */
  everyMs?: number;
  /** First instant the schedule may fire (ms); default: when it was created. */
  startAt?: number;
  /** After downtime: 'skip' (default) drops missed fire times; 'once' runs one job for the latest missed time. */
  missed?: 'skip' | 'once';
}

const fields = ['cron', 'tz', 'everyMs', 'startAt', 'missed'] as const;
const defaultGraceMs = 60_000;

function invalid(field: string, message: string, cause?: unknown): CadreError {
  return new CadreError('input_invalid', message, { cause, details: { field } });
}

/** Parses `cron` in `tz` with croner; 6 fields means seconds first, 7 (years) is refused. */
function parseCron(cron: string, tz: string): Cron {
  // croner reads any pattern with a ':' as a one-off ISO date, which is not a schedule.
  if (cron.includes(':')) throw invalid('cron', `cron "${cron}" looks like a date; give a cron expression`);
  try {
    return new Cron(cron, { timezone: tz, mode: '5-or-6-parts' });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw invalid('cron', `cron "${cron}" is not a valid cron expression: ${reason}`, error);
  }
}

function checkInstant(field: string, value: number): void {
  if (!Number.isFinite(value)) throw invalid(field, `${field} must be a finite time in ms, got ${value}`);
}

/**
 * Validates a schedule's timing from untrusted input and returns it with `tz` (for cron) and
 * `missed` filled in. Throws CadreError('input_invalid', message naming the field).
 */
export function checkScheduleTiming(timing: unknown): ScheduleTiming {
  if (typeof timing !== 'object' || timing === null || Array.isArray(timing)) {
    throw invalid('timing', 'A schedule timing must be an object with `cron` or `everyMs`');
  }
  // A misspelt `timezone` would otherwise run the cron in UTC without a word.
  rejectUnknownKeys(timing, fields, 'schedule timing field', 'input_invalid');
  const { cron, tz, everyMs, startAt, missed } = timing as Record<string, unknown>;
  if ((cron === undefined) === (everyMs === undefined)) {
    const which = cron === undefined ? 'neither was given' : 'not both';
    throw invalid('cron', `Give exactly one of \`cron\` and \`everyMs\`: ${which}`);
  }
  if (startAt !== undefined && (typeof startAt !== 'number' || !Number.isFinite(startAt))) {
    throw invalid('startAt', 'startAt must be a finite time in ms');
  }
  if (missed !== undefined && missed !== 'skip' && missed !== 'once') {
    throw invalid('missed', 'missed must be "skip" or "once"');
  }
  const common: Pick<ScheduleTiming, 'startAt' | 'missed'> = {
    ...(startAt === undefined ? {} : { startAt }),
    missed: missed ?? 'skip',
  };
  if (everyMs !== undefined) {
    if (typeof everyMs !== 'number' || !Number.isSafeInteger(everyMs) || everyMs < 1000) {
      throw invalid('everyMs', `everyMs must be a whole number of ms, at least 1000; got ${String(everyMs)}`);
    }
    // An interval counts real milliseconds, so a zone would change nothing and mislead the reader.
    if (tz !== undefined) throw invalid('tz', 'tz applies only to `cron`; `everyMs` counts real time');
    return { everyMs, ...common };
  }
  if (typeof cron !== 'string' || cron.trim() === '') throw invalid('cron', 'cron must be a non-empty string');
  if (tz !== undefined && typeof tz !== 'string') throw invalid('tz', 'tz must be an IANA time zone name');
  const zone = tz ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (error) {
    throw invalid('tz', `tz "${zone}" is not a known IANA time zone (e.g. "Europe/Paris")`, error);
  }
  // With the year field wildcarded a pattern fires forever or never (e.g. "0 0 31 2 *").
  if (parseCron(cron, zone).nextRun(new Date(0)) === null) {
    throw invalid('cron', `cron "${cron}" never fires`);
  }
  return { cron, tz: zone, ...common };
}

/** Where interval fire times are counted from: `startAt`, else the Unix epoch (aligned multiples). */
function intervalOrigin(timing: ScheduleTiming): number {
  return timing.startAt ?? 0;
}

function cronOf(timing: ScheduleTiming): Cron | undefined {
  if (timing.cron !== undefined) return parseCron(timing.cron, timing.tz ?? 'UTC');
  if (timing.everyMs === undefined) throw invalid('cron', 'Give exactly one of `cron` and `everyMs`');
  return undefined;
}

/**
 * The first fire time strictly after `after` (ms) and not before `startAt`, or undefined when the
 * cron has no future fire. An interval without `startAt` counts from the Unix epoch.
 */
export function nextFireAfter(timing: ScheduleTiming, after: number): number | undefined {
  checkInstant('after', after);
  const cron = cronOf(timing);
  if (cron === undefined) {
    const every = timing.everyMs as number;
    const origin = intervalOrigin(timing);
    if (after < origin) return origin;
    return origin + (Math.floor((after - origin) / every) + 1) * every;
  }
  // croner answers strictly after its argument, so step back 1 ms to let `startAt` itself fire.
  const from = timing.startAt !== undefined && after < timing.startAt ? timing.startAt - 1 : after;
  return cron.nextRun(new Date(from))?.getTime();
}

/** The latest fire time at or before `now`, or undefined when there is none since `startAt`. */
function latestFireAtOrBefore(timing: ScheduleTiming, now: number): number | undefined {
  const cron = cronOf(timing);
  let latest: number | undefined;
  if (cron === undefined) {
    const every = timing.everyMs as number;
    const origin = intervalOrigin(timing);
    latest = now < origin ? undefined : origin + Math.floor((now - origin) / every) * every;
  } else {
    // previousRuns answers strictly before its reference; fire times are whole seconds, so +1 ms includes `now`.
    latest = cron.previousRuns(1, new Date(now + 1))[0]?.getTime();
  }
  return latest !== undefined && timing.startAt !== undefined && latest < timing.startAt ? undefined : latest;
}

/**
 * Given the fire time the scheduler had planned (`due`, already <= now) and the current time, which
 * instants to enqueue now and the next planned fire time: on time (due within `graceMs`, default
 * 60_000, of now) -> [due]; late beyond grace -> 'skip': [], 'once': [latest missed fire time <= now];
 * `next` = first fire time > now. A latest fire time that is itself within grace is on time, not
 * missed, so it runs under either policy.
 */
export function firesDue(
  timing: ScheduleTiming,
  due: number,
  now: number,
  graceMs: number = defaultGraceMs,
): { fire: number[]; next: number | undefined } {
  checkInstant('due', due);
  checkInstant('now', now);
  if (!Number.isFinite(graceMs) || graceMs < 0) throw invalid('graceMs', 'graceMs must be a finite number >= 0');
  // A clock behind the plan (another scheduler's, or one stepped back) fires nothing and keeps the plan.
  if (due > now) return { fire: [], next: due };
  const next = nextFireAfter(timing, now);
  if (now - due <= graceMs) return { fire: [due], next };
  const latest = Math.max(due, latestFireAtOrBefore(timing, now) ?? due);
  if (now - latest <= graceMs) return { fire: [latest], next };
  return { fire: timing.missed === 'once' ? [latest] : [], next };
}
