import { z } from 'zod';
import { CadreError, type JobInput, type RetryPolicy } from '../core/index.js';

/** Retries when a job says nothing: three attempts, 1 s then 2 s apart (plus jitter), at most an hour. */
export const defaultRetry: RetryPolicy = { attempts: 3, backoffMs: 1000, maxBackoffMs: 3_600_000 };

const name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a name of letters, digits, _ . - (at most 64)');
const whole = z.number().int().positive();

/**
 * The fields of a job, each checked: one schema for `enqueue`, schedules and `POST /jobs`. That a job
 * names exactly one of team and agent is checked beside it ({@link withOneTeamOrAgent}).
 */
export const JobFieldsSchema = z.strictObject({
  team: name.optional(),
  agent: name.optional(),
  goal: z.string().trim().min(1, 'a non-empty goal').max(100_000),
  queue: name.optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  runAt: z.number().int().nonnegative().optional(),
  timeoutMs: whole.optional(),
  retry: z
    .strictObject({
      attempts: whole.max(100).optional(),
      backoffMs: z.number().int().nonnegative().optional(),
      maxBackoffMs: z.number().int().nonnegative().optional(),
    })
    .optional(),
  dedupeKey: z.string().min(1).max(512).optional(),
  budget: z
    .strictObject({
      maxSteps: whole.optional(),
      maxTokens: whole.optional(),
      maxCostUsd: z.number().nonnegative().optional(),
      maxWallTimeMs: whole.optional(),
    })
    .optional(),
  privacy: z.enum(['public', 'sensitive']).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  scheduleId: z.string().optional(),
  webhook: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});

/** Adds to a schema of job fields the rule across them: exactly one of `team` and `agent`. */
export function withOneTeamOrAgent<T extends z.ZodType<{ team?: string | undefined; agent?: string | undefined }>>(
  schema: T,
): T {
  return schema.refine((input) => (input.team === undefined) !== (input.agent === undefined), {
    message: 'name either a team or an agent',
    path: ['team'],
  });
}

const JobInputSchema = withOneTeamOrAgent(JobFieldsSchema);

// A run-at a little in the past is "now" seen from another clock; beyond that it is a mistake.
const pastSlackMs = 60_000;

/**
 * Checks a job before it is queued: one of team/agent, a goal, whole positive limits, a run-at not in
 * the past. Throws `input_invalid` naming the field; nothing is queued.
 */
export function checkJobInput(input: unknown, now: number): JobInput {
  const parsed = JobInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'job';
    throw new CadreError('input_invalid', `Job field "${field}": ${issue.message}`, { details: { field } });
  }
  const job = parsed.data as JobInput;
  if (job.runAt !== undefined && job.runAt < now - pastSlackMs)
    throw new CadreError('input_invalid', `Job field "runAt": ${new Date(job.runAt).toISOString()} is in the past`, {
      details: { field: 'runAt' },
    });
  return job;
}

/** The wait before attempt `attempt + 1`: backoff·2^(attempt-1), capped, with ±25% jitter so retries spread. */
export function backoffDelay(retry: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(retry.backoffMs * 2 ** Math.max(0, attempt - 1), retry.maxBackoffMs ?? 3_600_000);
  return Math.round(base * (0.75 + random() * 0.5));
}
