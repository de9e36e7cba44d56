import { OpenAPIHono } from '@hono/zod-openapi';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import type { z } from 'zod';
import { CadreError, createLogger, loadConfig, type CadreConfigInput } from '../../core/index.js';
import {
  configuredApiKeys,
  configuredRunReadings,
  configuredThreadRecords,
  configuredRunStore,
  openConfiguredStore,
  type ApiKeys,
} from '../../runtime/store/index.js';
import type { CadreApp } from '../../app/index.js';
import { apiKeyAuth, userHeader, type ApiEnv } from './api-key-auth.js';
import { errorResponse } from './http-errors.js';
import { hostOriginGuard, loopbackPolicy, type HostOriginPolicy } from './request-guard.js';
import { RunService } from './run-service.js';
import { createRunsApp } from './runs-routes.js';
import { ThreadService } from './thread-service.js';
import { createThreadsApp } from './threads-routes.js';
import { createOpenAIApp } from './openai-routes.js';
import { createJobsApp } from './jobs-routes.js';
import { bodyLimit } from './body-limit.js';
import { createMetrics } from './metrics.js';
import { createWorker, openJobQueue, schedulesOf, type Worker } from '../../jobs/index.js';
import { loadHttpServerOptions, type HttpServerOptions, type HttpServerOptionsInput } from './server-options.js';

/** What the HTTP API serves: the app registry, where runs are stored, and the server's settings. */
export interface HttpApiOptions {
  /** The registry runs are started from by name (with the built-in teams: see `loadApp`). */
  app: CadreApp;
  /** cadre's config for the runs (data folder, database, limits). */
  config?: CadreConfigInput;
  server?: HttpServerOptionsInput;
  /** The version `/openapi.json` reports. */
  version?: string;
}

/** The API, ready to be served (`serveHttpApi`) or called in-process (`api.app.request()`). */
export interface HttpApi {
  readonly app: OpenAPIHono<ApiEnv>;
  readonly runs: RunService;
  /** The conversations: `serveHttpApi` re-drives those a stopped server left with queued messages. */
  readonly threads: ThreadService;
  readonly keys: ApiKeys;
  readonly options: HttpServerOptions;
  /** Sets the Host and Origin values accepted (default: loopback names on the configured port). */
  setPolicy(policy: HostOriginPolicy): void;
  /** Starts the server's own job worker (`workers` jobs at once); `serveHttpApi` does when `workers` > 0. */
  startWorker(): Worker;
  /** Refuses new runs, stops running ones at their next step, ends every event stream, then closes the job queue. */
  shutdown(reason?: string): Promise<void>;
}

/**
 * Builds cadre's HTTP API: one sub-app per resource, each request checked in the order that leaks
 * least (Host and Origin, CORS, body size, API key and rate limit, then its schema), errors as JSON
 * with a code, and `/openapi.json` generated from the same zod schemas that validate requests.
 */
export function createHttpApi(options: HttpApiOptions): HttpApi {
  const server = loadHttpServerOptions(options.server);
  const config = loadConfig(options.config);
  // A `:memory:` store is private to each opening: runs started here would vanish from the API.
  if (config.databasePath === ':memory:')
    throw new CadreError('config_invalid', 'The HTTP API needs a database file, not `:memory:` (databasePath)');
  const logger = createLogger({ level: config.logLevel, name: 'cadre-http' });
  // Runs, keys and threads are where the config keeps them; metrics read the machine's own file.
  const store = openConfiguredStore(config);
  const runStore = configuredRunStore(config);
  const keys = configuredApiKeys(config);
  // The config loaded once, at start: each request's run takes it as it is (no file lookup, no
  // environment read per request), as a server reads its settings when it starts.
  const runs = new RunService({
    app: options.app,
    config,
    store: runStore,
    pollMs: server.ssePollMs,
  });
  const shutdown = new AbortController();
  const openStreams = new Set<Promise<void>>();
  let policy = loopbackPolicy(server);
  const invalid = (error: z.ZodError, c: Context) =>
    errorResponse(c, new CadreError('input_invalid', describeIssues(error)));

  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => (result.success ? undefined : invalid(result.error, c)),
  });
  app.onError((error, c) => errorResponse(c, error, logger));
  app.notFound((c) => errorResponse(c, new CadreError('not_found', `No route ${c.req.method} ${c.req.path}`)));
  app.use(hostOriginGuard(() => policy));
  app.use(
    cors({
      origin: (origin) => (server.corsOrigins.includes(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'DELETE'],
      allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', userHeader],
      exposeHeaders: ['X-Cadre-Run-Id', 'Location', 'Retry-After'],
      maxAge: 600,
    }),
  );
  app.use(
    bodyLimit({
      maxSize: server.maxBodyBytes,
      onError: (c) => errorResponse(c, new CadreError('body_too_large', `Body over ${server.maxBodyBytes} bytes`)),
    }),
  );
  app.get('/health', (c) => c.json({ ok: true }));
  const auth = apiKeyAuth({ keys, perMinute: server.rateLimitPerMinute });
  // Matches `/runs` itself too.
  app.use('/runs/*', auth);
  app.route(
    '/runs',
    createRunsApp({
      runs,
      stallMs: server.sseStallMs,
      heartbeatMs: server.sseHeartbeatMs,
      shutdown: shutdown.signal,
      openStreams,
      invalid,
    }),
  );
  // The key check runs inside the sub-app, so that its errors too come out in OpenAI's shape.
  app.route(
    '/v1',
    createOpenAIApp({
      app: options.app,
      runs,
      auth,
      tools: server.openaiTools,
      heartbeatMs: server.sseHeartbeatMs,
      logger,
    }),
  );
  app.use('/threads/*', auth);
  const threads = new ThreadService({
    app: options.app,
    config,
    threads: configuredThreadRecords(config),
    runStore,
    runs,
    pollMs: server.ssePollMs,
  });
  app.route(
    '/threads',
    createThreadsApp({
      service: threads,
      runs,
      stallMs: server.sseStallMs,
      heartbeatMs: server.sseHeartbeatMs,
      shutdown: shutdown.signal,
      openStreams,
      invalid,
    }),
  );
  // The queue the config names (BullMQ when `redisUrl` or `databaseUrl` is set); closed by `shutdown`.
  const queue = openJobQueue(config);
  const schedules = schedulesOf(queue, config);
  for (const path of ['/jobs', '/jobs/*', '/schedules', '/schedules/*']) app.use(path, auth);
  app.route('/', createJobsApp({ app: options.app, config, queue, schedules, invalid }));
  // Prometheus scrapes with an admin key (`authorization` / `bearer_token` in its scrape config).
  const readings = configuredRunReadings(config);
  const metrics = createMetrics({ db: store.db, queue, ...(readings ? { runs: readings } : {}) });
  app.get('/metrics', auth, async (c) => {
    if (!c.get('caller').admin) throw new CadreError('request_forbidden', '/metrics needs an admin API key');
    return c.body(await metrics.metrics(), 200, { 'Content-Type': metrics.contentType });
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from `cadre keys create`, in the Authorization header only.',
  });
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'cadre', version: options.version ?? '0.0.0', description: 'Runs of registered teams and agents.' },
    security: [{ apiKey: [] }],
  });

  return {
    app,
    runs,
    threads,
    keys,
    options: server,
    setPolicy: (next) => void (policy = next),
    startWorker: () => createWorker({ app: options.app, config, queue, concurrency: server.workers, logger }),
    shutdown: async (reason = 'the server is shutting down') => {
      await runs.drain(`${reason}; the run can be resumed`, server.drainMs);
      shutdown.abort();
      // Each stream writes its final frame and closes; one that cannot is cut with its connection.
      await Promise.race([Promise.all(openStreams), sleep(server.drainMs, undefined, { ref: false })]);
      await queue.close();
    },
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
    .join('; ');
}
