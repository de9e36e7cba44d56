import pc from 'picocolors';
import {
  CadreError,
  loadConfig,
  type CadreConfigInput,
  type Job,
  type JobInput,
  type JobQueue,
  type JobState,
} from '../core/index.js';
import { openConfiguredStore } from '../runtime/index.js';
import { loadApp } from '../app/index.js';
import {
  createWorker,
  enqueue,
  openJobQueue,
  schedule,
  schedulesOf,
  type Schedule,
  type WorkerEvent,
} from '../jobs/index.js';

/** What `cadre jobs add` takes. */
export interface AddFlags {
  agent?: boolean;
  queue?: string;
  priority?: number;
  runAt?: number;
  timeout?: number;
  attempts?: number;
  backoff?: number;
  dedupe?: string;
  maxSteps?: number;
  maxCost?: number;
  cron?: string;
  tz?: string;
  every?: number;
  missed?: 'skip' | 'once';
  overlap?: boolean;
}

/** Flags every jobs command shares. */
export interface CommonFlags {
  data?: string;
  app?: string;
  json?: boolean;
}

const configOf = (flags: CommonFlags): CadreConfigInput => ({ dataDir: flags.data });
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const when = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const colour = (state: JobState) =>
  state === 'completed'
    ? pc.green
    : state === 'dead'
      ? pc.red
      : state === 'running'
        ? pc.cyan
        : state === 'queued'
          ? (s: string) => s
          : pc.yellow;
const nameOf = (job: Pick<Job, 'team' | 'agent'>) => (job.team !== undefined ? job.team : `agent:${job.agent}`);

/** Runs `use` on the queue the config names, then closes it: an open Redis connection would keep the process alive. */
async function withQueue<T>(config: CadreConfigInput, use: (queue: JobQueue) => Promise<T>): Promise<T> {
  const queue = openJobQueue(config);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** `cadre jobs add`: queues the goal, or schedules it with --cron / --every. */
export async function addJob(name: string, goal: string, flags: AddFlags & CommonFlags): Promise<number> {
  const options = { app: await loadApp(flags.app ? { path: flags.app } : {}), config: configOf(flags) };
  const retry = {
    ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
    ...(flags.backoff !== undefined ? { backoffMs: flags.backoff } : {}),
  };
  const budget = {
    ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
    ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
  };
  const job: JobInput = {
    ...(flags.agent ? { agent: name } : { team: name }),
    goal,
    ...(flags.queue ? { queue: flags.queue } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(Object.keys(retry).length ? { retry } : {}),
    ...(Object.keys(budget).length ? { budget } : {}),
  };
  if (flags.cron !== undefined || flags.every !== undefined) {
    for (const [flag, set] of [
      ['--run-at', flags.runAt],
      ['--dedupe', flags.dedupe],
    ] as const)
      if (set !== undefined) throw new CadreError('input_invalid', `${flag} does not apply to a schedule`);
    const added = await schedule(
      {
        timing: {
          ...(flags.cron !== undefined ? { cron: flags.cron } : {}),
          ...(flags.tz !== undefined ? { tz: flags.tz } : {}),
          ...(flags.every !== undefined ? { everyMs: flags.every } : {}),
          ...(flags.missed !== undefined ? { missed: flags.missed } : {}),
        },
        job,
        overlap: Boolean(flags.overlap),
      },
      options,
    );
    if (flags.json) print(added);
    else process.stdout.write(`scheduled ${added.id}: ${describeTiming(added)}, next ${when(added.nextAt)} UTC\n`);
    return 0;
  }
  const { job: queued, created } = await enqueue(
    {
      ...job,
      ...(flags.runAt !== undefined ? { runAt: flags.runAt } : {}),
      ...(flags.dedupe !== undefined ? { dedupeKey: flags.dedupe } : {}),
    },
    options,
  );
  if (flags.json) print({ ...queued, created });
  else
    process.stdout.write(
      `${created ? 'queued' : 'already queued'} ${queued.id} (run ${queued.runId}) for ${nameOf(queued)}: run it with cadre worker\n`,
    );
  return 0;
}

/** `cadre jobs list`. */
export async function listJobs(
  flags: CommonFlags & { state?: JobState; queue?: string; limit: number },
): Promise<number> {
  const jobs = await withQueue(configOf(flags), (queue) =>
    queue.list({
      ...(flags.state ? { state: flags.state } : {}),
      ...(flags.queue ? { queue: flags.queue } : {}),
      limit: flags.limit,
    }),
  );
  if (flags.json) {
    print(jobs);
    return 0;
  }
  if (jobs.length === 0) process.stdout.write('no jobs\n');
  for (const job of jobs) {
    const goal = job.goal.length > 50 ? `${job.goal.slice(0, 49)}…` : job.goal;
    process.stdout.write(
      `${job.id}  ${colour(job.state)(job.state.padEnd(9))}  ${job.queue.padEnd(8)}  ${nameOf(job).padEnd(12)}  ${String(job.attempts).padStart(2)}/${job.retry.attempts}  ${pc.dim(when(job.createdAt))}  ${goal}\n`,
    );
  }
  return 0;
}

/** `cadre jobs show <id>`: the job and where its run stands. */
export async function showJob(id: string, flags: CommonFlags): Promise<number> {
  const config = configOf(flags);
  const job = await withQueue(config, (queue) => queue.get(id));
  if (!job) throw new CadreError('job_not_found', `No job ${id}`, { details: { id } });
  const run = openConfiguredStore(loadConfig(config)).runs.get(job.runId);
  if (flags.json) {
    print({ ...job, run: run ? { id: run.id, status: run.status, result: run.result } : null });
    return 0;
  }
  const lines = [
    `${job.id}  ${colour(job.state)(job.state)}`,
    `  ${nameOf(job)}: ${job.goal}`,
    `  queue ${job.queue}, priority ${job.priority}, attempt ${job.attempts} of ${job.retry.attempts}`,
    `  run ${job.runId}: ${run?.status ?? 'not started'}`,
    ...(job.worker ? [`  held by ${job.worker} until ${when(job.leaseUntil)} UTC`] : []),
    ...(job.state === 'queued' && job.runAt > Date.now() ? [`  not before ${when(job.runAt)} UTC`] : []),
    ...(job.result?.answer ? [`  answer: ${job.result.answer}`] : []),
    ...(job.error ? [`  ${pc.red(job.error.code)}: ${job.error.message}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `cadre jobs retry | cancel | approve | reject <id>`. */
export async function changeJob(
  verb: 'retry' | 'cancel' | 'approve' | 'reject',
  id: string,
  flags: CommonFlags & { reason?: string },
): Promise<number> {
  const job = await withQueue(configOf(flags), (queue) =>
    verb === 'retry'
      ? queue.retry(id)
      : verb === 'cancel'
        ? queue.cancel(id)
        : queue.answer(id, { action: verb, ...(flags.reason ? { reason: flags.reason } : {}) }),
  );
  if (flags.json) print(job);
  else process.stdout.write(`${job.id}  ${colour(job.state)(job.state)}${job.cancelRequested ? ' (stopping)' : ''}\n`);
  return 0;
}

/** `cadre jobs pause | resume <queue>`. */
export async function pauseQueue(verb: 'pause' | 'resume', name: string, flags: CommonFlags): Promise<number> {
  await withQueue(configOf(flags), (queue) => (verb === 'pause' ? queue.pause(name) : queue.resume(name)));
  if (flags.json) print({ queue: name, paused: verb === 'pause' });
  else process.stdout.write(`queue ${name} ${verb === 'pause' ? 'paused' : 'resumed'}\n`);
  return 0;
}

/** `cadre jobs schedules`: BullMQ's when the queue is BullMQ, else the embedded ones. */
export async function listSchedules(flags: CommonFlags): Promise<number> {
  const config = configOf(flags);
  const schedules = await withQueue(config, async (queue) => schedulesOf(queue, config).list());
  if (flags.json) print(schedules);
  else if (schedules.length === 0) process.stdout.write('no schedules\n');
  else
    for (const s of schedules)
      process.stdout.write(
        `${s.id}  ${s.paused ? pc.yellow('paused') : 'active'}  ${describeTiming(s)}  next ${when(s.nextAt)} UTC  ${nameOf(s.job)}: ${s.job.goal}\n`,
      );
  return 0;
}

/** `cadre jobs unschedule <id>`. */
export async function removeSchedule(id: string, flags: CommonFlags): Promise<number> {
  const config = configOf(flags);
  await withQueue(config, async (queue) => schedulesOf(queue, config).remove(id));
  if (flags.json) print({ id, removed: true });
  else process.stdout.write(`removed ${id}\n`);
  return 0;
}

const describeTiming = (s: Schedule) =>
  s.timing.cron !== undefined ? `cron "${s.timing.cron}" ${s.timing.tz ?? 'UTC'}` : `every ${s.timing.everyMs} ms`;

/** What `cadre worker` takes. */
export interface WorkerFlags {
  concurrency?: number;
  queue?: string[];
  lease?: number;
  untilIdle?: boolean;
  app?: string;
  data?: string;
  json?: boolean;
}

/** `cadre worker`: runs jobs until SIGTERM / SIGINT (drain), or with --until-idle until nothing is left. */
export async function runWorker(flags: WorkerFlags): Promise<number> {
  const app = await loadApp(flags.app ? { path: flags.app } : {});
  const config = { dataDir: flags.data };
  return withQueue(config, async (queue) => {
    // A queue that cannot be reached is an error here, not a worker waiting in silence.
    await queue.paused();
    const worker = createWorker({
      app,
      config,
      queue,
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      ...(flags.queue ? { queues: flags.queue } : {}),
      ...(flags.lease ? { leaseMs: flags.lease } : {}),
      onEvent: flags.json ? (event) => print(jsonOf(event)) : showProgress,
    });
    if (!flags.json) process.stderr.write(pc.dim(`worker ${worker.id} started; SIGTERM drains\n`));
    const stopped = new Promise<void>((resolve) => {
      const drain = () => void worker.stop().then(resolve);
      process.once('SIGTERM', drain);
      process.once('SIGINT', drain);
    });
    if (flags.untilIdle) await Promise.race([worker.idle().then(() => worker.stop()), stopped]);
    else await stopped;
    return 0;
  });
}

/** A worker event as one JSON line: the job's id and state rather than the whole job. */
function jsonOf(event: WorkerEvent): Record<string, unknown> {
  if (!('job' in event)) return { type: event.type };
  const { job, ...rest } = event;
  return { ...rest, jobId: job.id, runId: job.runId, state: job.state, attempts: job.attempts };
}

function showProgress(event: WorkerEvent): void {
  const line = (text: string): void => void process.stdout.write(`${text}\n`);
  switch (event.type) {
    case 'job.started':
      return line(
        `${pc.cyan('▶')} ${event.job.id} ${nameOf(event.job)}${event.resumed ? ' (continues its run)' : ''}, attempt ${event.job.attempts}: ${event.job.goal}`,
      );
    case 'job.settled': {
      const { job } = event;
      const detail =
        job.state === 'completed'
          ? (job.result?.answer ?? '')
          : job.state === 'queued'
            ? `${job.error?.message ?? 'handed back'}; again at ${when(job.runAt)} UTC`
            : (job.error?.message ?? job.result?.status ?? '');
      const mark = job.state === 'completed' ? pc.green('✔') : job.state === 'dead' ? pc.red('✖') : pc.yellow('•');
      return line(`${mark} ${job.id} ${colour(job.state)(job.state)} ${pc.dim(detail.slice(0, 120))}`);
    }
    case 'job.lost':
      return line(`${pc.red('!')} ${event.job.id} lease lost: ${event.reason}`);
    case 'worker.idle':
    case 'worker.stopped':
      return;
  }
}
