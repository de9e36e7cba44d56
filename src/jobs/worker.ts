import { hostname } from 'node:os';
import {
  CadreError,
  createId,
  loadConfig,
  type CadreConfigInput,
  type Job,
  type JobOutcome,
  type JobQueue,
  type LeasedJob,
  type ErrorInfo,
  type Logger,
  type RunStatus,
} from '../core/index.js';
import { leasedRuns, type PlanDecision, type RunHandle, type RunRecord } from '../runtime/index.js';
import { loadApp, resumeNamed, runNamed, type CadreApp } from '../app/index.js';
import { openJobQueue, openScheduleStore } from './open-job-queue.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { createWebhookSender } from './webhook-sender.js';

/** What a worker reports as it goes: for progress output and tests. */
export type WorkerEvent =
  | { type: 'job.started'; job: Job; epoch: number; resumed: boolean }
  | { type: 'job.settled'; job: Job; outcome: JobOutcome['kind'] }
  | { type: 'job.lost'; job: Job; epoch: number; reason: string }
  | { type: 'worker.idle' }
  | { type: 'worker.stopped' };

/** How a worker runs. */
export interface WorkerOptions {
  /** This process's settings (data folder, database). */
  config?: CadreConfigInput;
  /** The registry the jobs' teams come from; default `loadApp()` (`CADRE_APP` or `cadre.app.ts`). */
  app?: CadreApp;
  /** Default: the queue the config names (`openJobQueue`), closed when the worker stops. */
  queue?: JobQueue;
  /** Jobs run at once by this worker; default 4. */
  concurrency?: number;
  /** Queues to lease from; default all. */
  queues?: readonly string[];
  /** Most jobs of a team (or agent, by name) running at once over every worker. */
  teamLimits?: Readonly<Record<string, number>>;
  /** How long a lease lasts without a heartbeat; default 30 s. Heartbeats come three times a lease. */
  leaseMs?: number;
  /**
   * How often an idle worker looks for work; default 250 ms. Besides, a worker on the embedded store
   * looks as soon as the database file changes (a job queued by any process).
   */
  pollMs?: number;
  /** Default: host, pid and a random suffix. */
  id?: string;
  /**
   * Fire due schedules of the embedded store (any number of workers may: each instant is queued
   * once); default true. Schedules on BullMQ need no firing: each fire comes due as a BullMQ job and
   * any worker's lease takes it.
   */
  schedules?: boolean;
  logger?: Logger;
  /** Called as jobs start, settle or are lost (the CLI shows progress with it). */
  onEvent?: (event: WorkerEvent) => void;
}

/** A running worker. */
export interface Worker {
  readonly id: string;
  /** Jobs this worker holds now. */
  readonly active: number;
  /**
   * Drains: leases nothing more, stops each running run at its next step and hands its job back to
   * the queue (another worker continues it from its checkpoint). Resolves when every job is handed back.
   */
  stop(): Promise<void>;
  /**
   * Resolves once the queue is empty: no job ready to lease and none running, here or on another
   * worker (for scripts and tests; `cadre worker --until-idle`).
   */
  idle(): Promise<void>;
}

/**
 * Starts a worker: it leases jobs, runs each job's team by name from the registry (or continues its
 * run from the checkpoint), heartbeats its leases and settles each job by how its run ended. Every
 * write of a job's run is fenced by the lease's epoch: a worker that lost its lease (paused past it,
 * cut off) is refused at its next write and stops that run.
 */
export function createWorker(options: WorkerOptions = {}): Worker {
  const config = loadConfig(options.config);
  const opened = options.queue ? undefined : openJobQueue(config);
  const queue = options.queue ?? opened!;
  const runs = leasedRuns(config);
  const id = options.id ?? `${hostname()}:${process.pid}:${createId('w').slice(-6)}`;
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 250;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new CadreError('input_invalid', 'Worker `concurrency` must be a whole number of at least 1');
  if (!Number.isInteger(leaseMs) || leaseMs < 100)
    throw new CadreError('input_invalid', 'Worker `leaseMs` must be a whole number of ms, at least 100');
  const emit = (event: WorkerEvent) => options.onEvent?.(event);
  const schedules = options.schedules === false ? undefined : openScheduleStore(config);
  // The webhook messages a queue's settles write (the embedded queue's, or a BullMQ queue's given an
  // outbox) are delivered by its workers, at least once, with backoff.
  const outbox = (queue as { outbox?: unknown }).outbox;
  const webhooks =
    outbox instanceof WebhookOutbox && config.webhookSecret
      ? createWebhookSender({
          outbox,
          secret: config.webhookSecret,
          ...(options.logger ? { logger: options.logger } : {}),
        })
      : undefined;
  const running = new Map<string, { stop: () => void; supersede: () => void; done: Promise<void> }>();
  let app: Promise<CadreApp> | undefined;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let filling = false;
  let again = false;
  const idleWaiters: (() => void)[] = [];

  const reportError = (error: unknown) =>
    void options.logger?.error({ err: error, worker: id }, 'the job queue failed');

  const fill = async (): Promise<void> => {
    if (stopping) return;
    // A wake-up while leasing is not lost: one more pass follows.
    if (filling) return void (again = true);
    filling = true;
    again = false;
    clearTimeout(timer);
    try {
      await schedules?.tick(queue);
      void webhooks?.deliverDue().catch((error: unknown) => {
        options.logger?.error({ err: error, worker: id }, 'delivering webhooks failed');
      });
      while (!stopping && running.size < concurrency) {
        const leased = await queue.lease({
          worker: id,
          leaseMs,
          ...(options.queues ? { queues: options.queues } : {}),
          ...(options.teamLimits ? { teamLimits: options.teamLimits } : {}),
        });
        if (!leased) break;
        start(leased);
      }
    } catch (error) {
      reportError(error);
    } finally {
      filling = false;
    }
    if (running.size === 0 && !stopping) {
      emit({ type: 'worker.idle' });
      // Idle means the queue is empty: a job still held by another worker (or by a dead one, until its
      // lease runs out and this worker takes it over) is not done yet.
      const busy = idleWaiters.length > 0 ? await queue.counts().then((c) => c.running, reportError) : undefined;
      if (busy === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    }
    if (stopping) return;
    if (again) return fill();
    timer = setTimeout(() => void fill(), pollMs);
  };

  const start = (leased: LeasedJob) => {
    const { id } = leased.job;
    const controller = new AbortController();
    // The queue handed out a job that runs here under an older lease (BullMQ can, when a stalled
    // job went back to its wait list twice). The run's fence in this process is one per run, so the
    // older run would pass it too: it stops first, and the newer lease's run starts once it has.
    const previous = running.get(id);
    previous?.supersede();
    const done = (previous ? previous.done.catch(() => undefined) : Promise.resolve())
      .then(() => runJob(leased, controller))
      .finally(() => {
        if (running.get(id)?.done === done) running.delete(id);
        void fill();
      });
    running.set(id, {
      stop: () => controller.abort(drained()),
      supersede: () => controller.abort(superseded()),
      done,
    });
    // Leased while the worker was stopping: handed back with the rest.
    if (stopping) controller.abort(drained());
  };

  const runJob = async ({ job, epoch }: LeasedJob, controller: AbortController): Promise<void> => {
    let lost: string | undefined;
    let cancelled = false;
    let timedOut = false;
    const stopRun = (reason: CadreError) => controller.abort(reason);
    // A store that does not answer leaves the job leased: it is taken over once the lease runs out.
    const taken = await runs.take(job.runId, epoch).catch(reportError);
    if (taken === undefined) return;
    if (!taken) {
      emit({ type: 'job.lost', job, epoch, reason: 'a newer lease holds the run' });
      return;
    }
    runs.hold(job.runId, epoch, (error) => {
      lost ??= error.message;
      stopRun(error);
    });
    const beat = setInterval(
      () => {
        // A heartbeat that fails (the queue's server away) is tried again at the next beat; the lease's
        // fence still refuses this run's writes once another worker holds the job.
        void queue.heartbeat(job.id, epoch, leaseMs).then((state) => {
          if (state === 'lost') {
            lost ??= 'the lease ran out before this worker renewed it';
            stopRun(new CadreError('lease_lost', `Job ${job.id}: ${lost}`));
          } else if (state === 'cancelled' && !cancelled) {
            cancelled = true;
            stopRun(new CadreError('cancelled', `Job ${job.id} was cancelled`));
          }
        }, reportError);
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    const timeout =
      job.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stopRun(new CadreError('timeout', `Job ${job.id} ran past its ${job.timeoutMs} ms timeout`));
          }, job.timeoutMs)
        : undefined;
    try {
      let record: RunRecord | undefined;
      try {
        record = await runs.get(job.runId);
      } catch (error) {
        return reportError(error);
      }
      emit({ type: 'job.started', job, epoch, resumed: record !== undefined });
      let result: Ended;
      try {
        const exists = record !== undefined;
        result =
          record?.status === 'completed'
            ? finished(record.result)
            : ended(await (await begin(job, exists, controller.signal)).result);
      } catch (error) {
        // A run whose lease was lost ends with its final write refused; that is reported below.
        result = { status: 'failed', error: CadreError.from(error).toJSON() };
      }
      if (CadreError.isInstance(controller.signal.reason) && controller.signal.reason.code === 'lease_lost')
        lost ??= controller.signal.reason.message;
      if (lost) {
        emit({ type: 'job.lost', job, epoch, reason: lost });
        return;
      }
      const outcome = outcomeOf(result, { cancelled, timedOut, drained: stopping });
      const settled = await queue.settle(job.id, epoch, outcome);
      if (settled) emit({ type: 'job.settled', job: settled, outcome: outcome.kind });
      else emit({ type: 'job.lost', job, epoch, reason: 'the lease moved on before the job was settled' });
    } finally {
      clearInterval(beat);
      clearTimeout(timeout);
      runs.release(job.runId);
    }
  };

  const begin = async (job: Job, exists: boolean, signal: AbortSignal): Promise<RunHandle> => {
    const registry = await (app ??= options.app ? Promise.resolve(options.app) : loadApp());
    if (exists)
      return resumeNamed(job.runId, {
        app: registry,
        ...(options.config ? { config: options.config } : {}),
        ...(job.decision !== undefined ? { decision: job.decision as PlanDecision } : {}),
        // A retry after a failed attempt runs the failed tasks again; after a crash there are none.
        retryFailed: true,
        signal,
      });
    return runNamed({
      app: registry,
      ...(job.team !== undefined ? { team: job.team } : { agent: job.agent! }),
      goal: job.goal,
      runId: job.runId,
      job: job.id,
      signal,
      ...(options.config ? { config: options.config } : {}),
      ...(job.budget ? { budget: job.budget } : {}),
      ...(job.privacy ? { privacy: job.privacy } : {}),
      ...(job.metadata ? { metadata: job.metadata } : {}),
    });
  };

  // New work wakes an idle worker at once where the queue can tell (the embedded queue by its
  // database file, BullMQ's by Redis pub/sub); the poll finds the rest.
  const onWork = () => {
    if (running.size < concurrency) void fill();
  };
  const unwatch = queue.watch?.(onWork) ?? (() => undefined);
  void fill();
  return {
    id,
    get active() {
      return running.size;
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      unwatch();
      // A lease in flight is awaited, so its job is handed back too; past leaseMs it has expired anyway.
      for (const until = Date.now() + leaseMs; filling && Date.now() < until;)
        await new Promise((resolve) => setTimeout(resolve, 5));
      const jobs = [...running.values()];
      for (const job of jobs) job.stop();
      await Promise.all(jobs.map((job) => job.done));
      await opened?.close();
      emit({ type: 'worker.stopped' });
    },
    idle() {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        void fill();
      });
    },
  };
}

/** How a run ended, as a job's outcome needs it. */
interface Ended {
  status: RunStatus;
  answer?: string;
  error?: ErrorInfo;
}

const ended = (result: { status: RunStatus; answer: string | null; error?: ErrorInfo }): Ended => ({
  status: result.status,
  ...(result.answer !== null ? { answer: result.answer } : {}),
  ...(result.error ? { error: result.error } : {}),
});

const drained = () => new CadreError('cancelled', 'The worker is stopping; the job goes back to the queue');
const superseded = () =>
  new CadreError('lease_lost', 'The queue handed this job out again under a newer lease; that lease runs it');

/** A run that completed before its job was settled (the worker died in between): nothing runs again. */
function finished(result: unknown): Ended {
  const r = (result ?? {}) as { answer?: string };
  return { status: 'completed', ...(typeof r.answer === 'string' ? { answer: r.answer } : {}) };
}

/** How a job's attempt ended, from how its run ended and why it was stopped. */
function outcomeOf(result: Ended, why: { cancelled: boolean; timedOut: boolean; drained: boolean }): JobOutcome {
  const { status } = result;
  if (status === 'completed' || status === 'rejected')
    return { kind: 'completed', result: { status, ...(result.answer !== undefined ? { answer: result.answer } : {}) } };
  if (status === 'awaiting_approval') return { kind: 'waiting', result: { status } };
  if (why.cancelled) return { kind: 'cancelled' };
  if (why.timedOut) return { kind: 'failed', error: { code: 'timeout', message: 'The job ran past its timeout' } };
  if (status === 'cancelled' && why.drained) return { kind: 'released' };
  const error = result.error ?? { code: status, message: `The run ended ${status}` };
  // Over budget is not bad luck: trying again would spend the same and fail the same way.
  return { kind: 'failed', error: { code: error.code, message: error.message }, retry: status !== 'budget_exceeded' };
}
