import { z } from '@hono/zod-openapi';

const name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a registered name');

/** Limits one run may use; each only lowers what the server's config allows. */
export const BudgetSchema = z
  .object({
    maxSteps: z.number().int().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
    maxCostUsd: z.number().nonnegative().optional(),
    maxWallTimeMs: z.number().int().positive().optional(),
  })
  .strict()
  .openapi('Budget');

/** The body of `POST /runs`. */
export const StartRunSchema = z
  .object({
    team: name.optional().openapi({ example: 'demo' }),
    agent: name.optional(),
    goal: z.string().trim().min(1).max(100_000).openapi({ example: 'Work out `(17 * 23) + sqrt(1764)`' }),
    budget: BudgetSchema.optional(),
    privacy: z.enum(['public', 'sensitive']).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    /** Answer with the run's events (SSE) at once instead of its record. */
    stream: z.boolean().optional(),
    /** With `stream`: what a dropped connection does to the run. Default `continue`. */
    onDisconnect: z.enum(['continue', 'cancel']).optional(),
    /** With `stream`: also send each reply's tokens as they come (`model.delta` frames, without an id). Default true. */
    deltas: z.boolean().optional(),
  })
  .strict()
  .refine((body) => (body.team === undefined) !== (body.agent === undefined), {
    message: 'name either a `team` or an `agent`',
  })
  .openapi('StartRun');

/** The answer to an MCP server's question (an approval's `content`): a value for each field asked for. */
export const QuestionAnswerSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
  .openapi({ example: { name: 'Ana Lima', check: true } });

/** The body of `POST /runs/{id}/approval`: the same decision `resume(runId, { decision })` takes. */
export const ApprovalSchema = z
  .object({
    action: z.enum(['approve', 'edit', 'reject']),
    /** For `edit` of a plan: the edited task graph, validated like any other. */
    graph: z.unknown().optional(),
    reason: z.string().max(4_000).optional(),
    /** For `approve` of an MCP server's question: the answer, a value for each field asked for. */
    content: QuestionAnswerSchema.optional(),
    stream: z.boolean().optional(),
    onDisconnect: z.enum(['continue', 'cancel']).optional(),
    deltas: z.boolean().optional(),
  })
  .strict()
  .openapi('Approval');

/** The body of `POST /runs/{id}/cancel`. */
export const CancelSchema = z
  .object({ reason: z.string().max(1_000).optional() })
  .strict()
  .openapi('Cancel');

/** A run as the API shows it. */
export const RunSchema = z
  .object({
    id: z.string(),
    goal: z.string(),
    status: z.enum([
      'running',
      'completed',
      'failed',
      'cancelled',
      'budget_exceeded',
      'rejected',
      'awaiting_approval',
      'interrupted',
    ]),
    team: z.string().optional(),
    agent: z.string().optional(),
    user: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    plan: z.unknown().optional(),
    /** Once the run ended or stopped: its answer, usage, cost and, when waiting, what it waits for. */
    result: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Run');

export const RunListSchema = z.object({ runs: z.array(RunSchema) }).openapi('RunList');

export const RunIdParams = z.object({
  id: z
    .string()
    .regex(/^[\w.:-]{1,128}$/)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'run_abc123' }),
});

export const ListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: 'limit', in: 'query' } }),
  /** Runs created before this time (ms since the epoch): the next page. */
  before: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .openapi({ param: { name: 'before', in: 'query' } }),
});

export const EventsQuery = z.object({
  /** The first seq to send; `Last-Event-ID` (the last seq seen) wins when both are given. */
  from: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .openapi({ param: { name: 'from', in: 'query' } }),
  /** `false`: leave out the live `model.delta` frames (each reply's tokens) of a run this server runs. */
  deltas: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ param: { name: 'deltas', in: 'query' } }),
});

export const EventsHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .openapi({ param: { name: 'last-event-id', in: 'header' } }),
});

/** An SSE stream of a run's events: `id:` is the seq, data the event; it ends with a `stream.end` frame. */
export const EventStreamSchema = z.string().openapi({
  description:
    'Server-sent events. Each frame: `id: <seq>` and `data: <event JSON>`. The last frame is `data: {"type":"stream.end","status":...}` without an id.',
});
