import { OpenAPIHono, createRoute, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RunHandle, RunRecord } from '../../runtime/index.js';
import { runView as sharedRunView } from '../run-view.js';
import type { ApiEnv } from './api-key-auth.js';
import { errorResponses, jsonContent } from './openapi-parts.js';
import { ErrorSchema } from './http-errors.js';
import { followRun, type FollowedRun } from './run-events-sse.js';
import type { RunService } from './run-service.js';
import {
  ApprovalSchema,
  CancelSchema,
  EventStreamSchema,
  EventsHeaders,
  EventsQuery,
  ListQuery,
  RunIdParams,
  RunListSchema,
  RunSchema,
  StartRunSchema,
} from './runs-schemas.js';

/** How the runs sub-app streams events. */
export interface RunsAppOptions {
  runs: RunService;
  stallMs: number;
  heartbeatMs: number;
  shutdown: AbortSignal;
  /** The streams open now; each removes itself once its final frame is written. */
  openStreams: Set<Promise<void>>;
  /** Answers a request whose body or parameters fail their schema. */
  invalid: (issues: z.ZodError, c: Context) => Response;
}

const errors = errorResponses(ErrorSchema, 'No such run for this key and user');
const sse = { content: { 'text/event-stream': { schema: EventStreamSchema } }, description: "The run's events" };
const tags = ['runs'];

const startRun = createRoute({
  method: 'post',
  path: '/',
  tags,
  summary: 'Start a run of a registered team or agent',
  request: { body: { required: true, ...jsonContent(StartRunSchema, 'The run to start') } },
  responses: {
    202: jsonContent(RunSchema, 'Started (committed)'),
    200: sse,
    ...errors,
    409: jsonContent(ErrorSchema, 'Conflict'),
  },
});
const listRuns = createRoute({
  method: 'get',
  path: '/',
  tags,
  summary: "The caller's runs, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonContent(RunListSchema, 'Runs'), ...errors },
});
const getRun = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  summary: 'One run',
  request: { params: RunIdParams },
  responses: { 200: jsonContent(RunSchema, 'The run'), ...errors },
});
const runEvents = createRoute({
  method: 'get',
  path: '/{id}/events',
  tags,
  summary: "A run's events as SSE: replayed from `from` or Last-Event-ID, then live",
  request: { params: RunIdParams, query: EventsQuery, headers: EventsHeaders },
  responses: { 200: sse, ...errors },
});
const cancelRun = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  tags,
  summary: 'Stop a run at its next step (resumable)',
  request: { params: RunIdParams, body: { required: false, ...jsonContent(CancelSchema, 'Why') } },
  responses: { 202: jsonContent(RunSchema, 'Stopping'), ...errors, 409: jsonContent(ErrorSchema, 'Not running here') },
});
const approveRun = createRoute({
  method: 'post',
  path: '/{id}/approval',
  tags,
  summary: 'Answer what a run awaiting approval waits for (its plan, a tool call or an MCP question), and resume it',
  request: { params: RunIdParams, body: { required: true, ...jsonContent(ApprovalSchema, 'The decision') } },
  responses: {
    202: jsonContent(RunSchema, 'Resumed'),
    200: sse,
    ...errors,
    409: jsonContent(ErrorSchema, 'Not waiting'),
  },
});

/** The runs resource: start, list, read, follow (SSE), cancel and answer runs. */
export function createRunsApp(options: RunsAppOptions): OpenAPIHono<ApiEnv> {
  const { runs } = options;
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => (result.success ? undefined : options.invalid(result.error, c)),
  });
  // How a run of this process is followed (its handle, the client's choices); the defaults are followRun's.
  type Following = Pick<FollowedRun, 'handle' | 'cancelOnDisconnect' | 'deltas'>;
  const follow = (c: Context, runId: string, fromSeq: number, how: Following) =>
    followRun(c, options, {
      runId,
      fromSeq,
      ...how,
      stored: (signal) => runs.events(runId, fromSeq, signal),
      storedStatus: () => runs.status(runId),
    });
  type Streaming = { stream?: boolean | undefined; onDisconnect?: string | undefined; deltas?: boolean | undefined };
  const started = async (c: Context, handle: RunHandle, how: Streaming, fromSeq = 1) => {
    c.header('X-Cadre-Run-Id', handle.runId);
    c.header('Location', `/runs/${handle.runId}`);
    if (how.stream)
      return follow(c, handle.runId, fromSeq, {
        handle,
        cancelOnDisconnect: how.onDisconnect === 'cancel',
        deltas: how.deltas,
      });
    return c.json(runView(await runs.get(handle.runId, c.var.caller)), 202);
  };

  app.openapi(startRun, async (c) => {
    const { stream, onDisconnect, deltas, ...input } = c.req.valid('json');
    const handle = await runs.start(input, c.var.caller);
    return started(c, handle, { stream, onDisconnect, deltas });
  });
  app.openapi(listRuns, async (c) => {
    const { limit, before } = c.req.valid('query');
    const page = await runs.list(c.var.caller, { limit, ...(before !== undefined ? { before } : {}) });
    return c.json({ runs: page.map(runView) }, 200);
  });
  app.openapi(getRun, async (c) => c.json(runView(await runs.get(c.req.valid('param').id, c.var.caller)), 200));
  app.openapi(runEvents, async (c) => {
    const { id } = c.req.valid('param');
    await runs.get(id, c.var.caller);
    const lastSeen = c.req.valid('header')['last-event-id'];
    const query = c.req.valid('query');
    const from = lastSeen !== undefined ? Number(lastSeen) + 1 : (query.from ?? 1);
    return follow(c, id, from, { handle: runs.handle(id), deltas: query.deltas !== 'false' });
  });
  app.openapi(cancelRun, async (c) => {
    const { id } = c.req.valid('param');
    const reason = c.req.valid('json').reason ?? 'cancelled over HTTP';
    return c.json(runView(await runs.cancel(id, c.var.caller, reason)), 202);
  });
  app.openapi(approveRun, async (c) => {
    const { id } = c.req.valid('param');
    const { stream, onDisconnect, deltas, ...decision } = c.req.valid('json');
    const { handle, fromSeq } = await runs.decide(id, c.var.caller, decision);
    return started(c, handle, { stream, onDisconnect, deltas }, fromSeq);
  });
  return app;
}

/** A run record as the API shows it: never its owner's key id or internal settings. */
export const runView = (record: RunRecord): z.infer<typeof RunSchema> => sharedRunView(record, { withUser: true });
