import { z } from '@hono/zod-openapi';
import { BudgetSchema } from './runs-schemas.js';

const name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a registered name');

/** Retry policy of a job. */
const RetrySchema = z
  .object({
    attempts: z.number().int().positive().max(100).optional(),
    backoffMs: z.number().int().nonnegative().optional(),
    maxBackoffMs: z.number().int().nonnegative().optional(),
  })
  .strict()
  .openapi('Retry');

const jobFields = {
  team: name.optional().openapi({ example: 'demo' }),
  agent: name.optional(),
  goal: z.string().trim().min(1).max(100_000).openapi({ example: "Summarise yesterday's incidents" }),
  queue: name.optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  timeoutMs: z.number().int().positive().optional(),
  retry: RetrySchema.optional(),
  budget: BudgetSchema.optional(),
  privacy: z.enum(['public', 'sensitive']).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
};

/** The body of `POST /jobs`. */
export const EnqueueSchema = z
  .object({
    ...jobFields,
    /** Not before this instant (ms since the epoch). */
    runAt: z.number().int().nonnegative().optional(),
    dedupeKey: z.string().min(1).max(512).optional(),
  })
  .strict()
  .openapi('Enqueue');

/** The body of `POST /schedules`. */
export const ScheduleBodySchema = z
  .object({
    cron: z.string().optional().openapi({ example: '0 7 * * *' }),
    tz: z.string().optional().openapi({ example: 'Europe/Paris' }),
    everyMs: z.number().int().optional(),
    missed: z.enum(['skip', 'once']).optional(),
    overlap: z.boolean().optional(),
    job: z.object(jobFields).strict(),
  })
  .strict()
  .openapi('ScheduleBody');

/** A job as the API returns it. */
export const JobSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    team: z.string().optional(),
    agent: z.string().optional(),
    goal: z.string(),
    state: z.enum(['queued', 'running', 'waiting', 'completed', 'dead', 'cancelled']),
    priority: z.number(),
    runAt: z.number(),
    runId: z.string(),
    attempts: z.number(),
    epoch: z.number(),
    result: z.object({ status: z.string(), answer: z.string().optional() }).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .passthrough()
  .openapi('Job');

export const JobListSchema = z.object({ jobs: z.array(JobSchema) }).openapi('JobList');
export const EnqueuedSchema = z.object({ job: JobSchema, created: z.boolean() }).openapi('Enqueued');
export const ScheduleSchema = z
  .object({ id: z.string(), nextAt: z.number().optional() })
  .passthrough()
  .openapi('Schedule');
export const ScheduleListSchema = z.object({ schedules: z.array(ScheduleSchema) }).openapi('ScheduleList');
export const IdParams = z.object({ id: z.string().min(1).max(200) });
export const JobListQuery = z.object({
  state: z.enum(['queued', 'running', 'waiting', 'completed', 'dead', 'cancelled']).optional(),
  queue: z.string().optional(),
  limit: z.coerce.number().int().positive().max(500).optional(),
});
export const JobApprovalSchema = z
  .object({ action: z.enum(['approve', 'reject']), reason: z.string().max(10_000).optional() })
  .strict()
  .openapi('JobApproval');
