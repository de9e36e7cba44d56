import {
  CadreError,
  type CadreConfig,
  loadConfig,
  type CadreConfigInput,
  type Job,
  type JobInput,
  type JobQueue,
} from '../core/index.js';
import { hasEntry, loadApp, type CadreApp } from '../app/index.js';
import type { BullmqScheduleStore } from './bullmq-schedules.js';
import { openJobQueue, schedulesOf } from './open-job-queue.js';
import type { Schedule, ScheduleInput, ScheduleStore } from './schedules.js';

/** Where {@link enqueue} puts a job, and the registry its team is checked against. */
export interface EnqueueOptions {
  config?: CadreConfigInput;
  /** Default `loadApp()`: a job for a team the registry lacks is refused before it is queued. */
  app?: CadreApp;
  /** Default: the queue the config names (`openJobQueue`), opened and closed for this call. */
  queue?: JobQueue;
  /** For {@link schedule}: default the schedules of the queue (`schedulesOf`): BullMQ's on BullMQ, else the embedded ones. */
  schedules?: ScheduleStore | BullmqScheduleStore;
}

/**
 * Queues a goal for a registered team or agent; a worker in any process runs it. Throws
 * `team_not_found` for a name the registry lacks and `input_invalid` for a bad field; nothing is
 * queued then. The same `dedupeKey` twice gives the job already queued (`created: false`).
 */
export async function enqueue(input: JobInput, options: EnqueueOptions = {}): Promise<{ job: Job; created: boolean }> {
  await checkRegistered(input, options.app);
  const config = loadConfig(options.config);
  checkWebhook(input?.webhook, config);
  if (options.queue) return options.queue.enqueue(input);
  // A queue opened here (a BullMQ one holds connections) is closed here.
  const queue = openJobQueue(config);
  try {
    return await queue.enqueue(input);
  } finally {
    await queue.close();
  }
}

/**
 * A webhook goes only to a host the config allows (`webhookHosts`), and only when there is a secret to
 * sign it with: a job must not become a way to make the server call anywhere.
 */
function checkWebhook(url: unknown, config: CadreConfig): void {
  if (url === undefined) return;
  let host: string;
  try {
    host = new URL(String(url)).host;
  } catch {
    return; // the job's own check names the bad URL
  }
  if (!config.webhookSecret)
    throw new CadreError('config_invalid', 'A job webhook needs a signing secret: set CADRE_WEBHOOK_SECRET (whsec_…)');
  if (!config.webhookHosts.includes(host))
    throw new CadreError(
      'input_invalid',
      `Job field "webhook": host ${host} is not in webhookHosts (CADRE_WEBHOOK_HOSTS)`,
      {
        details: { field: 'webhook', host },
      },
    );
}

/**
 * Adds a recurring job (cron in a time zone, or an interval). On BullMQ it is a BullMQ job scheduler,
 * which every machine on the same Redis sees and fires once per instant; else it is in the configured
 * database. Throws `team_not_found` for a name the registry lacks and `input_invalid` for a bad cron,
 * zone, interval or job field; nothing is stored then.
 */
export async function schedule(input: ScheduleInput, options: EnqueueOptions = {}): Promise<Schedule> {
  await checkRegistered(input?.job ?? {}, options.app);
  const config = loadConfig(options.config);
  checkWebhook(input?.job?.webhook, config);
  if (options.schedules) return options.schedules.add(input);
  if (options.queue) return schedulesOf(options.queue, config).add(input);
  const queue = openJobQueue(config);
  try {
    return await schedulesOf(queue, config).add(input);
  } finally {
    await queue.close();
  }
}

async function checkRegistered(input: Partial<JobInput>, registry: CadreApp | undefined): Promise<void> {
  if ((input.team === undefined) === (input.agent === undefined)) return; // the input check names this
  const app = registry ?? (await loadApp());
  const kind = input.team !== undefined ? 'team' : 'agent';
  const name = (input.team ?? input.agent)!;
  if (!hasEntry(app, { [kind]: name }))
    throw new CadreError('team_not_found', `No ${kind} "${name}" is registered`, { details: { [kind]: name } });
}
