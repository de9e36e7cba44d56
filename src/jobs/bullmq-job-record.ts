import type { JobType } from 'bullmq';
import type { Job, JobOutcome, JobState, LeaseRequest } from '../core/index.js';
import type { WebhookEvent } from './webhook-outbox.js';

/** What a job keeps in BullMQ's data: the fields fixed at enqueue. */
export type Fields = Omit<
  Job,
  | 'id'
  | 'state'
  | 'runAt'
  | 'attempts'
  | 'epoch'
  | 'worker'
  | 'leaseUntil'
  | 'result'
  | 'error'
  | 'decision'
  | 'cancelRequested'
  | 'updatedAt'
>;

/**
 * cadre's record beside a BullMQ job (a Redis hash): what BullMQ has no field for. `token` is the lock
 * token of the latest lease, kept until the lease is settled, so a popped job that still has one
 * lost its previous lease. `hold` says why a job sits in BullMQ's delayed set.
 */
export interface SideRecord {
  queue?: string;
  epoch?: string;
  attempts?: string;
  runAt?: string;
  updatedAt?: string;
  token?: string;
  worker?: string;
  leaseUntil?: string;
  hold?: 'due' | 'parked' | 'waiting' | 'cancelled';
  cancel?: string;
  result?: string;
  error?: string;
  decision?: string;
}

// A job cadre holds back (not yet due, parked behind its team's limit, waiting for an answer,
// cancelled) sits in BullMQ's delayed set until this instant, i.e. until cadre promotes it.
export const hold = Date.UTC(2100, 0, 1);
/** BullMQ priorities run 1 (first) .. 2^21; cadre's run -1e6 .. 1e6, higher first. */
export const bullPriority = (priority: number) => 1_000_001 - priority;
// BullMQ's codes for a job that is gone, not locked by this token, or not active: the lease moved on.
const lostCodes = new Set([-1, -2, -3, -6]);
/** True for BullMQ's errors that mean the lease moved on. */
export const isLost = (error: unknown) => lostCodes.has((error as { code?: number }).code ?? 0);
/** The team slots a job takes: its team's, or its agent's. */
export const ownerOf = (fields: Fields) =>
  fields.team !== undefined ? `team:${fields.team}` : `agent:${fields.agent}`;
/** The limit a lease request puts on a job's team or agent, if any. */
export const limitOf = (request: LeaseRequest, fields: Fields) =>
  request.teamLimits?.[fields.team ?? fields.agent ?? ''];
/** cadre's lease order: priority, then runAt, then age. */
export const leaseOrder = (a: { f: Fields; runAt: number; id: string }, b: { f: Fields; runAt: number; id: string }) =>
  b.f.priority - a.f.priority || a.runAt - b.runAt || a.f.createdAt - b.f.createdAt || (a.id < b.id ? -1 : 1);
const bullStates: Record<string, JobState> = { active: 'running', completed: 'completed', failed: 'dead' };
/** BullMQ states whose jobs cadre counts as queued (less those held as waiting or cancelled). */
export const countTypes: JobType[] = ['wait', 'prioritized', 'delayed', 'waiting-children'];

/** The Redis keys of cadre's records under a prefix. */
export function bullmqKeys(prefix: string) {
  // '~' starts no queue name, so cadre's keys never meet BullMQ's (`<prefix>:<queue>:…`).
  const ns = `${prefix}:~cadre`;
  return {
    job: (id: string) => `${ns}:job:${id}`,
    queues: `${ns}:queues`,
    paused: `${ns}:paused`,
    created: (queue?: string) => `${ns}:created${queue === undefined ? '' : `:${queue}`}`,
    due: `${ns}:due`,
    leases: `${ns}:leases`,
    slots: (owner: string) => `${ns}:slots:${owner}`,
    parked: (owner: string) => `${ns}:parked:${owner}`,
    parkedOwners: `${ns}:parked-owners`,
    held: (kind: 'waiting' | 'cancelled') => `${ns}:held:${kind}`,
    lock: `${ns}:lease-lock`,
    /** The pub/sub channel on which a change that may make a job ready wakes idle workers. */
    wake: `${ns}:wake`,
    /** A schedule's record: its body and what BullMQ's job scheduler has no field for. */
    schedule: (id: string) => `${ns}:schedule:${id}`,
    /** Every schedule's id, by creation time. */
    schedules: `${ns}:schedules`,
    /** Queues that have had a schedule: the only ones whose delayed jobs can come due by themselves. */
    scheduledQueues: `${ns}:scheduled-queues`,
  };
}

/** A cadre job from BullMQ's data and state and cadre's record beside it. */
export function toJob(id: string, record: SideRecord, fields: Fields, bullState: string): Job {
  const state =
    record.hold === 'waiting' || record.hold === 'cancelled' ? record.hold : (bullStates[bullState] ?? 'queued');
  const json = (text: string | undefined) => (text === undefined ? undefined : (JSON.parse(text) as unknown));
  return {
    id,
    ...fields,
    state,
    runAt: Number(record.runAt),
    attempts: Number(record.attempts ?? 0),
    epoch: Number(record.epoch ?? 0),
    ...(state === 'running' && record.worker ? { worker: record.worker } : {}),
    ...(state === 'running' && record.leaseUntil ? { leaseUntil: Number(record.leaseUntil) } : {}),
    ...(record.result ? { result: json(record.result) as Job['result'] } : {}),
    ...(record.error ? { error: json(record.error) as Job['error'] } : {}),
    ...(record.decision ? { decision: json(record.decision) } : {}),
    ...(record.cancel ? { cancelRequested: true } : {}),
    updatedAt: Number(record.updatedAt),
  };
}

/**
 * The job as a settle will leave it, with the webhook event that reports it (none for a release or a
 * cancel), worked out before the settle: the message is written first (see `WebhookOutbox.add`).
 * `again`: a failed attempt that is tried again.
 */
export function settledJob(
  before: Job,
  outcome: JobOutcome,
  again: boolean,
): { job: Job; event: WebhookEvent } | undefined {
  switch (outcome.kind) {
    case 'completed':
      return {
        job: { ...before, state: 'completed', result: outcome.result, error: undefined },
        event: 'job.completed',
      };
    case 'waiting':
      return { job: { ...before, state: 'waiting', result: outcome.result }, event: 'job.waiting' };
    case 'failed':
      return {
        job: { ...before, state: again ? 'queued' : 'dead', error: outcome.error },
        event: again ? 'job.failed' : 'job.dead',
      };
    default:
      return undefined;
  }
}
