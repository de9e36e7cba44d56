import { z } from '@hono/zod-openapi';
import { JobFieldsSchema, withOneTeamOrAgent } from '../../jobs/index.js';
import { QuestionAnswerSchema } from './runs-schemas.js';

// The job's own schema (cadre/jobs), so the API accepts exactly what `enqueue` does; only the
// examples are added here. `scheduleId` is set by schedules, never by a caller. zod's own `meta()`,
// not `openapi()`: cadre/jobs may have built these schemas before this module loaded the extension.
const { shape } = JobFieldsSchema;
const jobFields = JobFieldsSchema.omit({ scheduleId: true }).extend({
  team: shape.team.meta({ example: 'demo' }),
  goal: shape.goal.meta({ example: "Summarise yesterday's incidents" }),
  runAt: shape.runAt.meta({ description: 'Not before this instant (ms since the epoch).' }),
  webhook: shape.webhook.meta({
    description:
      'Gets a signed POST (Standard Webhooks) when the job completes, an attempt fails, it is dead or it waits for an approval; its host must be in `webhookHosts` of the server config.',
    example: 'https://hooks.example.com/cadre',
  }),
});

/** The body of `POST /jobs`. */
export const EnqueueSchema = withOneTeamOrAgent(jobFields).openapi('Enqueue');

/** The body of `POST /schedules`. */
export const ScheduleBodySchema = z
  .object({
    cron: z.string().optional().openapi({ example: '0 7 * * *' }),
    tz: z.string().optional().openapi({ example: 'Europe/Paris' }),
    everyMs: z.number().int().optional(),
    missed: z.enum(['skip', 'once']).optional(),
    overlap: z.boolean().optional(),
    job: withOneTeamOrAgent(jobFields.omit({ runAt: true, dedupeKey: true })),
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
  .object({
    action: z.enum(['approve', 'reject']),
    reason: z.string().max(10_000).optional(),
    /** For `approve` of an MCP server's question the job's run waits on: the answer. */
    content: QuestionAnswerSchema.optional(),
  })
  .strict()
  .openapi('JobApproval');
