import { OpenAPIHono, createRoute, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ThreadMessage, ThreadRecord } from '../../runtime/store/index.js';
import type { ApiEnv } from './api-key-auth.js';
import { errorResponses, jsonContent } from './openapi-parts.js';
import { ErrorSchema } from './http-errors.js';
import { followRun } from './run-events-sse.js';
import type { RunService } from './run-service.js';
import { runView } from './runs-routes.js';
import { EventStreamSchema, ListQuery } from './runs-schemas.js';
import type { ThreadService } from './thread-service.js';
import {
  CreateThreadSchema,
  PostMessageSchema,
  PostedMessageSchema,
  ThreadDetailSchema,
  ThreadIdParams,
  ThreadListSchema,
  ThreadSchema,
} from './threads-schemas.js';
import type { MessageSchema } from './threads-schemas.js';

/** What the threads sub-app runs on and how it streams. */
export interface ThreadsAppOptions {
  /** The threads, their messages and their turns' runs. */
  service: ThreadService;
  runs: RunService;
  stallMs: number;
  heartbeatMs: number;
  shutdown: AbortSignal;
  /** The streams open now; each removes itself once its final frame is written. */
  openStreams: Set<Promise<void>>;
  /** Answers a request whose body or parameters fail their schema. */
  invalid: (issues: z.ZodError, c: Context) => Response;
}

const errors = errorResponses(ErrorSchema, 'No such thread for this key and user');
const tags = ['threads'];

const createThread = createRoute({
  method: 'post',
  path: '/',
  tags,
  summary: 'Open a conversation with a registered team or agent',
  request: { body: { required: true, ...jsonContent(CreateThreadSchema, 'The thread to open') } },
  responses: { 201: jsonContent(ThreadSchema, 'Opened'), ...errors },
});
const listThreads = createRoute({
  method: 'get',
  path: '/',
  tags,
  summary: "The caller's threads, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonContent(ThreadListSchema, 'Threads'), ...errors },
});
const getThread = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  summary: 'One thread, with its messages and runs',
  request: { params: ThreadIdParams },
  responses: { 200: jsonContent(ThreadDetailSchema, 'The thread'), ...errors },
});
const postMessage = createRoute({
  method: 'post',
  path: '/{id}/messages',
  tags,
  summary: "Send a message: starts a run of the thread's team with the earlier turns (or queues it)",
  request: { params: ThreadIdParams, body: { required: true, ...jsonContent(PostMessageSchema, 'The message') } },
  responses: {
    202: jsonContent(PostedMessageSchema, 'Admitted (committed): started or queued'),
    200: { content: { 'text/event-stream': { schema: EventStreamSchema } }, description: "The answering run's events" },
    ...errors,
    409: jsonContent(ErrorSchema, 'The thread is busy and its policy is `reject`'),
  },
});

/** The threads resource: open, list and read conversations, and send them messages. */
export function createThreadsApp(options: ThreadsAppOptions): OpenAPIHono<ApiEnv> {
  const { runs, service: threads } = options;
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => (result.success ? undefined : options.invalid(result.error, c)),
  });

  app.openapi(createThread, async (c) =>
    c.json(threadView(await threads.create(c.req.valid('json'), c.var.caller)), 201),
  );
  app.openapi(listThreads, async (c) => {
    const { limit, before } = c.req.valid('query');
    const page = await threads.list(c.var.caller, { limit, ...(before !== undefined ? { before } : {}) });
    return c.json({ threads: page.map(threadView) }, 200);
  });
  app.openapi(getThread, async (c) => {
    const detail = await threads.detail(c.req.valid('param').id, c.var.caller);
    return c.json(
      { ...threadView(detail.thread), messages: detail.messages.map(messageView), runs: detail.runs.map(runView) },
      200,
    );
  });
  app.openapi(postMessage, async (c) => {
    const { id } = c.req.valid('param');
    const { stream, onDisconnect, deltas, ...input } = c.req.valid('json');
    const posted = await threads.post(id, input, c.var.caller);
    const { handle, runId } = posted;
    c.header('X-Cadre-Run-Id', runId);
    c.header('Location', `/runs/${runId}`);
    if (stream)
      return followRun(c, options, {
        runId,
        ...(handle ? { handle } : {}),
        stored: (signal) => threads.events(id, runId, signal),
        storedStatus: () => runs.status(runId),
        cancelOnDisconnect: onDisconnect === 'cancel',
        deltas,
      });
    const record = handle ? await runs.get(runId, c.var.caller) : undefined;
    return c.json(
      {
        message: messageView(posted.message),
        runId,
        queued: posted.queued,
        ...(record ? { run: runView(record) } : {}),
      },
      202,
    );
  });
  return app;
}

/** A thread as the API shows it: never its owner's key id. */
function threadView(thread: ThreadRecord): z.infer<typeof ThreadSchema> {
  return {
    id: thread.id,
    ...(thread.team !== undefined ? { team: thread.team } : {}),
    ...(thread.agent !== undefined ? { agent: thread.agent } : {}),
    ...(thread.ownerUser !== undefined ? { user: thread.ownerUser } : {}),
    policy: thread.policy,
    contextTokens: thread.contextTokens,
    metadata: thread.metadata,
    ...(thread.summary !== undefined ? { summary: thread.summary } : {}),
    createdAt: thread.createdAt,
    updatedAt: thread.updatedAt,
  };
}

function messageView(message: ThreadMessage): z.infer<typeof MessageSchema> {
  return {
    id: message.id,
    seq: message.seq,
    role: message.role,
    text: message.text,
    ...(message.runId !== undefined ? { runId: message.runId } : {}),
    status: message.status,
    createdAt: message.createdAt,
  };
}
