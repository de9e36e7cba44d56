import {
  CadreError,
  loadConfig,
  type CadreConfigInput,
  type Job,
  type JobInput,
  type JobQueue,
} from '../core/index.js';
import { hasEntry, loadApp, type CadreApp } from '../app/index.js';
import { openJobQueue, openScheduleStore } from './open-job-queue.js';
import type { Schedule, ScheduleInput, ScheduleStore } from './schedules.js';

/** Where {@link enqueue} puts a job, and the registry its team is checked against. */
export interface EnqueueOptions {
  config?: CadreConfigInput;
  /** Default `loadApp()`: a job for a team the registry lacks is refused before it is queued. */
  app?: CadreApp;
  queue?: JobQueue;
  /** For {@link schedule}: default the schedules in the configured database. */
  schedules?: ScheduleStore;
}

/**
 * Queues a goal for a registered team or agent; a worker in any process runs it. Throws
 * `team_not_found` for a name the registry lacks and `input_invalid` for a bad field; nothing is
 * queued then. The same `dedupeKey` twice gives the job already queued (`created: false`).
 */
export async function enqueue(input: JobInput, options: EnqueueOptions = {}): Promise<{ job: Job; created: boolean }> {
  await checkRegistered(input, options.app);
  const queue = options.queue ?? openJobQueue(loadConfig(options.config));
  return queue.enqueue(input);
}

/**
 * Adds a recurring job (cron in a time zone, or an interval). Throws `team_not_found` for a name the
 * registry lacks and `input_invalid` for a bad cron, zone, interval or job field; nothing is stored then.
 */
export async function schedule(input: ScheduleInput, options: EnqueueOptions = {}): Promise<Schedule> {
  await checkRegistered(input?.job ?? {}, options.app);
  return (options.schedules ?? openScheduleStore(options.config)).add(input);
}

async function checkRegistered(input: Partial<JobInput>, registry: CadreApp | undefined): Promise<void> {
  if ((input.team === undefined) === (input.agent === undefined)) return; // the input check names this
  const app = registry ?? (await loadApp());
  const kind = input.team !== undefined ? 'team' : 'agent';
  const name = (input.team ?? input.agent)!;
  if (!hasEntry(app, { [kind]: name }))
    throw new CadreError('team_not_found', `No ${kind} "${name}" is registered`, { details: { [kind]: name } });
}
