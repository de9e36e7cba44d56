/** Where a job stands. `waiting`: its run waits for an approval, with no worker held. `dead`: out of attempts. */
export type JobState = 'queued' | 'running' | 'waiting' | 'completed' | 'dead' | 'cancelled';

/** Every state a job can be in. */
export const jobStates: readonly JobState[] = ['queued', 'running', 'waiting', 'completed', 'dead', 'cancelled'];

/** How a failed job is tried again: `attempts` in all, waiting `backoffMs`·2^(n-1) (with jitter) before try n+1. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  /** Upper bound of one wait; default one hour. */
  maxBackoffMs?: number;
}

/** Limits of one job's run; each only lowers what the team and the config allow. */
export interface JobBudget {
  maxSteps?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  maxWallTimeMs?: number;
}

/** A goal for a registered team (or agent), to be run by whichever worker leases it. */
export interface JobInput {
  team?: string;
  agent?: string;
  goal: string;
  /** Default `default`. Workers lease from the queues they are given; a queue can be paused. */
  queue?: string;
  /** Higher runs first; default 0. */
  priority?: number;
  /** Not before this instant (ms since the epoch); default now. */
  runAt?: number;
  /** The run is cancelled after this long on one attempt, which then counts as failed. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Enqueuing the same key again returns the job already there instead of adding one. */
  dedupeKey?: string;
  budget?: JobBudget;
  privacy?: 'public' | 'sensitive';
  metadata?: Record<string, unknown>;
  /** The schedule that made this job, if one did. */
  scheduleId?: string;
  /**
   * A URL that gets a signed POST (Standard Webhooks) when the job completes, an attempt fails, it is
   * dead or it waits for an approval; its host must be in the config's `webhookHosts`.
   */
  webhook?: string;
}

/** How a job's last attempt ended, in JSON. */
export interface JobError {
  code: string;
  message: string;
}

/** A job as the queue keeps it. */
export interface Job {
  id: string;
  queue: string;
  team?: string;
  agent?: string;
  goal: string;
  state: JobState;
  priority: number;
  runAt: number;
  /** The run that carries the job out; fixed when the job is made, so every attempt continues it. */
  runId: string;
  /** Attempts started so far. */
  attempts: number;
  retry: RetryPolicy;
  timeoutMs?: number;
  dedupeKey?: string;
  budget?: JobBudget;
  privacy?: 'public' | 'sensitive';
  metadata?: Record<string, unknown>;
  scheduleId?: string;
  webhook?: string;
  /** The epoch of the latest lease: grows by one with every lease of the job. */
  epoch: number;
  /** The worker holding the job while `running`. */
  worker?: string;
  leaseUntil?: number;
  /** The run's status and answer once the job completed, or why it waits. */
  result?: { status: string; answer?: string };
  error?: JobError;
  /** A decision given for a `waiting` job, handed to the run when a worker continues it. */
  decision?: unknown;
  /** Cancelled while running: its worker stops the run at its next heartbeat. */
  cancelRequested?: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A job a worker holds: the lease's epoch fences every write of the job's run. */
export interface LeasedJob {
  job: Job;
  epoch: number;
}

/** What a worker asks the queue for. */
export interface LeaseRequest {
  worker: string;
  leaseMs: number;
  /** Default: every queue. */
  queues?: readonly string[];
  /** Most jobs of one team (or agent) running at once, over every worker; teams not named are unlimited. */
  teamLimits?: Readonly<Record<string, number>>;
  now?: number;
}

/** How a worker hands a job back. */
export type JobOutcome =
  | { kind: 'completed'; result: { status: string; answer?: string } }
  /** The attempt failed: tried again after backoff while attempts remain (`retry` false: never), else dead. */
  | { kind: 'failed'; error: JobError; retry?: boolean }
  /** The run waits for an approval: the job is `waiting` and no worker holds it. */
  | { kind: 'waiting'; result: { status: string } }
  /** Handed back unfinished (a worker draining): queued again, the attempt not counted. */
  | { kind: 'released' }
  /** Ended on request (`cancel`): `cancelled`. */
  | { kind: 'cancelled' };

/** Which jobs `list` returns. */
export interface JobFilter {
  state?: JobState;
  queue?: string;
  limit?: number;
}

/**
 * A durable job queue: leases with growing epochs, heartbeats, retries with backoff, dead letters,
 * dedupe keys, priorities and pausable queues. Every method that settles a job takes the lease's
 * epoch and does nothing (returns false / undefined) for a lease that has moved on.
 */
export interface JobQueue {
  /** Adds a job, or returns the one already holding its dedupe key (`created: false`). */
  enqueue(input: JobInput, now?: number): Promise<{ job: Job; created: boolean }>;
  /** The next ready job (by priority, then `runAt`, then age), or one whose lease expired; undefined when none. */
  lease(request: LeaseRequest): Promise<LeasedJob | undefined>;
  /**
   * Extends a lease: `held`; `lost` when the lease is no longer this one; `cancelled` when the job was
   * cancelled while running (the worker stops its run and settles it `cancelled`).
   */
  heartbeat(id: string, epoch: number, leaseMs: number, now?: number): Promise<'held' | 'lost' | 'cancelled'>;
  /** Ends an attempt; undefined when the lease is no longer this one. */
  settle(id: string, epoch: number, outcome: JobOutcome, now?: number): Promise<Job | undefined>;
  /** The job, or undefined for an unknown id. */
  get(id: string): Promise<Job | undefined>;
  /** Newest first. */
  list(filter?: JobFilter): Promise<Job[]>;
  /** A dead or cancelled job queued again with fresh attempts. */
  retry(id: string, now?: number): Promise<Job>;
  /** A queued or waiting job ends `cancelled`; a running one is marked, and its worker stops it at its next heartbeat. */
  cancel(id: string, now?: number): Promise<Job>;
  /** Answers a `waiting` job: queued again with the decision for its run. */
  answer(id: string, decision: unknown, now?: number): Promise<Job>;
  /** Stops leasing from a queue (running jobs go on). */
  pause(queue: string): Promise<void>;
  /** Leases from a paused queue again. */
  resume(queue: string): Promise<void>;
  /** Paused queues. */
  paused(): Promise<string[]>;
  /** Jobs by state. */
  counts(): Promise<Record<JobState, number>>;
  /**
   * Calls `onWork` soon after a job may have become ready to lease, in any process sharing the queue
   * (added, answered, retried, a queue resumed, a slot freed), so an idle worker need not wait for
   * its next poll; returns a function that stops it. Optional: a queue without it is polled.
   */
  watch?(onWork: () => void): () => void;
}
