import { z } from '@hono/zod-openapi';
import { RunSchema } from './runs-schemas.js';

const name = z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a registered name');

/** What a thread does with a message that arrives while its previous run is still going. */
export const PolicySchema = z.enum(['reject', 'enqueue', 'interrupt', 'rollback']).openapi('DoubleTextPolicy', {
  description:
    '`reject`: 409. `enqueue` (default): runs after the current run. `interrupt`: stops the current run at its next step, keeps its partial turn, then answers. `rollback`: stops it, drops its turn, then answers.',
});

/** The body of `POST /threads`. */
export const CreateThreadSchema = z
  .object({
    team: name.optional().openapi({ example: 'demo' }),
    agent: name.optional(),
    policy: PolicySchema.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    /** Tokens the earlier turns may take in each run's context (older turns are summarised). */
    contextTokens: z.number().int().min(16).max(1_000_000).optional(),
  })
  .strict()
  .refine((body) => (body.team === undefined) !== (body.agent === undefined), {
    message: 'name either a `team` or an `agent`',
  })
  .openapi('CreateThread');

/** The body of `POST /threads/{id}/messages`. */
export const PostMessageSchema = z
  .object({
    text: z.string().trim().min(1).max(100_000).openapi({ example: 'And what about tomorrow?' }),
    /** This message's double-texting policy; default the thread's. */
    policy: PolicySchema.optional(),
    /** Answer with the run's events (SSE) at once instead of the message. */
    stream: z.boolean().optional(),
    /** With `stream`: what a dropped connection does to the run. Default `continue`. */
    onDisconnect: z.enum(['continue', 'cancel']).optional(),
    /** With `stream`: also send each reply's tokens as they come (`model.delta` frames, without an id). Default true. */
    deltas: z.boolean().optional(),
  })
  .strict()
  .openapi('PostMessage');

export const ThreadSchema = z
  .object({
    id: z.string(),
    team: z.string().optional(),
    agent: z.string().optional(),
    user: z.string().optional(),
    policy: PolicySchema,
    contextTokens: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    /** The rolling summary of the turns that left the window. */
    summary: z.string().optional(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .openapi('Thread');

export const MessageSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    role: z.enum(['user', 'assistant']),
    text: z.string(),
    /** The run the message started (user) or that answered it (assistant). */
    runId: z.string().optional(),
    /** User: queued, started, rolled_back or failed. Assistant: the final status of the run that answered. */
    status: z.string(),
    createdAt: z.number().int(),
  })
  .openapi('ThreadMessage');

export const ThreadDetailSchema = ThreadSchema.extend({
  messages: z.array(MessageSchema),
  runs: z.array(RunSchema),
}).openapi('ThreadDetail');

export const ThreadListSchema = z.object({ threads: z.array(ThreadSchema) }).openapi('ThreadList');

export const PostedMessageSchema = z
  .object({
    message: MessageSchema,
    /** The run answering the message; for a queued one, the id it gets when it starts. */
    runId: z.string(),
    queued: z.boolean(),
    run: RunSchema.optional(),
  })
  .openapi('PostedMessage');

export const ThreadIdParams = z.object({
  id: z
    .string()
    .regex(/^[\w.:-]{1,128}$/)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'thread_abc123' }),
});
