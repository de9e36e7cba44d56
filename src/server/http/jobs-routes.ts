import { OpenAPIHono, createRoute, type z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { CadreError, type CadreConfigInput, type JobQueue } from '../../core/index.js';
import type { CadreApp } from '../../app/index.js';
import { enqueue, schedule, type BullmqScheduleStore, type ScheduleStore } from '../../jobs/index.js';
import type { ApiEnv } from './api-key-auth.js';
import { ErrorSchema, errorResponse } from './http-errors.js';
import { errorResponses, jsonContent } from './openapi-parts.js';
import {
  EnqueueSchema,
  EnqueuedSchema,
  IdParams,
  JobApprovalSchema,
  JobListQuery,
  JobListSchema,
  JobSchema,
  ScheduleBodySchema,
  ScheduleListSchema,
  ScheduleSchema,
} from './jobs-schemas.js';

/** What the jobs sub-app works on. */
export interface JobsAppOptions {
  app: CadreApp;
  /** The server's config: which webhook hosts a job may name, and the secret that signs them. */
  config: CadreConfigInput;
  queue: JobQueue;
  /** The queue's schedules: BullMQ's job schedulers on BullMQ, else the embedded ones (see `schedulesOf`). */
  schedules: ScheduleStore | BullmqScheduleStore;
  invalid: (issues: z.ZodError, c: Context) => Response;
}

const errors = { ...errorResponses(ErrorSchema, 'No such job'), 403: jsonContent(ErrorSchema, 'Not an admin key') };
const tags = ['jobs'];
const route = <R extends Parameters<typeof createRoute>[0]>(r: R) => createRoute({ tags, ...r });

const enqueueRoute = route({
  method: 'post',
  path: '/jobs',
  summary: 'Queue a goal for a registered team or agent; any worker runs it',
  request: { body: { required: true, ...jsonContent(EnqueueSchema, 'The job') } },
  responses: {
    201: jsonContent(EnqueuedSchema, 'Queued'),
    200: jsonContent(EnqueuedSchema, 'Already queued (dedupe key)'),
    ...errors,
  },
});
const listRoute = route({
  method: 'get',
  path: '/jobs',
  summary: 'Jobs, newest first',
  request: { query: JobListQuery },
  responses: { 200: jsonContent(JobListSchema, 'Jobs'), ...errors },
});
const getRoute = route({
  method: 'get',
  path: '/jobs/{id}',
  summary: 'One job',
  request: { params: IdParams },
  responses: { 200: jsonContent(JobSchema, 'The job'), ...errors },
});
const verbRoute = (verb: 'cancel' | 'retry', summary: string) =>
  route({
    method: 'post',
    path: `/jobs/{id}/${verb}`,
    summary,
    request: { params: IdParams },
    responses: { 200: jsonContent(JobSchema, 'The job'), ...errors },
  });
const cancelRoute = verbRoute('cancel', 'Cancel a job; a running one stops at its next step');
const retryRoute = verbRoute('retry', 'Queue a dead or cancelled job again with fresh attempts');
const approvalRoute = route({
  method: 'post',
  path: '/jobs/{id}/approval',
  summary: 'Answer what a waiting job asks (its plan or a tool call); a worker continues it',
  request: { params: IdParams, body: { required: true, ...jsonContent(JobApprovalSchema, 'The decision') } },
  responses: { 200: jsonContent(JobSchema, 'The job'), ...errors },
});
const addScheduleRoute = route({
  method: 'post',
  path: '/schedules',
  summary: 'Add a recurring job: a cron in a time zone, or an interval',
  request: { body: { required: true, ...jsonContent(ScheduleBodySchema, 'The schedule') } },
  responses: { 201: jsonContent(ScheduleSchema, 'Added'), ...errors },
});
const listSchedulesRoute = route({
  method: 'get',
  path: '/schedules',
  summary: 'Schedules with their next fire time',
  responses: { 200: jsonContent(ScheduleListSchema, 'Schedules'), ...errors },
});
const removeScheduleRoute = route({
  method: 'delete',
  path: '/schedules/{id}',
  summary: 'Remove a schedule',
  request: { params: IdParams },
  responses: { 204: { description: 'Removed' }, ...errors },
});

/** Jobs and schedules run the server's teams with its budgets: only admin keys may manage them. */
const adminOnly: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (!c.get('caller').admin)
    return errorResponse(c, new CadreError('request_forbidden', 'Jobs and schedules need an admin API key'));
  await next();
};

/**
 * `/jobs` and `/schedules`: the same operations as `cadre jobs`, over HTTP. Handlers validate, call
 * cadre/jobs and map the result; nothing here runs a job (the server's worker or any other does).
 */
export function createJobsApp(options: JobsAppOptions): OpenAPIHono<ApiEnv> {
  const { app: registry, config, queue, schedules } = options;
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => (result.success ? undefined : options.invalid(result.error, c)),
  });
  // Mounted at the root: the check names its paths, so other routes never see it.
  for (const path of ['/jobs', '/jobs/*', '/schedules', '/schedules/*']) app.use(path, adminOnly);
  app.openapi(enqueueRoute, async (c) => {
    const result = await enqueue(c.req.valid('json'), { app: registry, config, queue });
    return c.json(result, result.created ? 201 : 200);
  });
  app.openapi(listRoute, async (c) => c.json({ jobs: await queue.list(c.req.valid('query')) }, 200));
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const job = await queue.get(id);
    if (!job) throw new CadreError('job_not_found', `No job ${id}`);
    return c.json(job, 200);
  });
  app.openapi(cancelRoute, async (c) => c.json(await queue.cancel(c.req.valid('param').id), 200));
  app.openapi(retryRoute, async (c) => c.json(await queue.retry(c.req.valid('param').id), 200));
  app.openapi(approvalRoute, async (c) =>
    c.json(await queue.answer(c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(addScheduleRoute, async (c) => {
    const { job, overlap, cron, tz, everyMs, missed } = c.req.valid('json');
    const timing = {
      ...(cron !== undefined ? { cron } : {}),
      ...(tz !== undefined ? { tz } : {}),
      ...(everyMs !== undefined ? { everyMs } : {}),
      ...(missed !== undefined ? { missed } : {}),
    };
    const added = await schedule(
      { timing, job, ...(overlap !== undefined ? { overlap } : {}) },
      { app: registry, config, schedules },
    );
    return c.json(added, 201);
  });
  app.openapi(listSchedulesRoute, async (c) => c.json({ schedules: await schedules.list() }, 200));
  app.openapi(removeScheduleRoute, async (c) => {
    await schedules.remove(c.req.valid('param').id);
    return c.body(null, 204);
  });
  return app;
}
