import { OpenAPIHono, createRoute, type z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { CadreError, type Logger } from '../../core/index.js';
import type { CadreApp } from '../../app/index.js';
import type { ApiEnv, Caller } from './api-key-auth.js';
import { errorResponses, jsonContent } from './openapi-parts.js';
import { chatCompletion } from './openai-completion.js';
import { approvalAnswer } from './openai-approval.js';
import { conversationGoal } from './openai-conversation.js';
import { openAIErrorResponse } from './openai-errors.js';
import {
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  ChatCompletionStreamSchema,
  ModelListSchema,
  ModelParams,
  ModelSchema,
  OpenAIErrorSchema,
  type ChatCompletionRequest,
} from './openai-schemas.js';
import { streamCompletion } from './openai-stream.js';
import type { RunService } from './run-service.js';

/** What the OpenAI-compatible sub-app serves from. */
export interface OpenAIAppOptions {
  /** The registry: every team and agent in it is a model id. */
  app: CadreApp;
  runs: RunService;
  /** The API key check the rest of the API uses; its errors come out in OpenAI's shape here. */
  auth: MiddlewareHandler<ApiEnv>;
  /** `reject` (default): a request with `tools` or `functions` is a 400; `ignore`: they are dropped. */
  tools?: 'reject' | 'ignore';
  heartbeatMs: number;
  logger?: Logger;
}

const errors = errorResponses(OpenAIErrorSchema, 'No such model (registered team or agent)');
const tags = ['openai'];

const listModels = createRoute({
  method: 'get',
  path: '/models',
  tags,
  summary: 'Every registered team and agent, as OpenAI models',
  responses: { 200: jsonContent(ModelListSchema, 'Models'), ...errors },
});
const getModel = createRoute({
  method: 'get',
  path: '/models/{model}',
  tags,
  summary: 'One registered team or agent, as an OpenAI model',
  request: { params: ModelParams },
  responses: { 200: jsonContent(ModelSchema, 'The model'), ...errors },
});
const chatCompletions = createRoute({
  method: 'post',
  path: '/chat/completions',
  tags,
  summary: 'Run a registered team or agent on a chat conversation (OpenAI Chat Completions)',
  description:
    'The last user message is the goal and earlier turns are given to the run as context. The run id is in the `X-Cadre-Run-Id` header; the run is committed before the answer starts, and a dropped connection does not stop it. `user` scopes the run like `X-Cadre-User`.',
  request: { body: { required: true, ...jsonContent(ChatCompletionRequestSchema, 'The conversation') } },
  responses: {
    200: {
      content: {
        'application/json': { schema: ChatCompletionSchema },
        'text/event-stream': { schema: ChatCompletionStreamSchema },
      },
      description: 'The answer, whole or (`stream: true`) as chunks',
    },
    ...errors,
    409: jsonContent(OpenAIErrorSchema, 'The run an approval answer names no longer waits for one'),
  },
});

/**
 * The OpenAI-compatible API: `GET /models` and `POST /chat/completions`, streaming and not, over
 * the same runs, keys and owners as the runs API. Every error, its own API key check included,
 * answers in OpenAI's error shape.
 */
export function createOpenAIApp(options: OpenAIAppOptions): OpenAPIHono<ApiEnv> {
  const { runs } = options;
  const created = Math.floor(Date.now() / 1000);
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) =>
      result.success
        ? undefined
        : openAIErrorResponse(
            c,
            new CadreError('input_invalid', describeIssues(result.error), {
              details: { param: result.error.issues[0]?.path.join('.') ?? null },
            }),
          ),
  });
  app.onError((error, c) => openAIErrorResponse(c, error, options.logger));
  app.use('*', options.auth);

  app.openapi(listModels, (c) => c.json({ object: 'list' as const, data: modelsOf(options.app, created) }, 200));
  app.openapi(getModel, (c) => {
    const { model } = c.req.valid('param');
    const found = modelsOf(options.app, created).find((m) => m.id === model);
    if (!found) throw unknownModel(model);
    return c.json(found, 200);
  });
  app.openapi(chatCompletions, async (c) => {
    const body = c.req.valid('json');
    refuseTools(body, options.tools ?? 'reject');
    if (body.n !== undefined && body.n !== null && body.n !== 1)
      throw new CadreError('input_invalid', 'Only one choice is made per request: `n` must be 1', {
        details: { param: 'n' },
      });
    const entry = entryOf(options.app, body.model);
    const caller = callerFor(c.var.caller, body.user);
    // An answer to a run's approval prompt continues that run; anything else starts a new one.
    const answered = approvalAnswer(body.messages);
    const handle = answered
      ? (await runs.decide(answered.runId, caller, answered.decision)).handle
      : await runs.start(
          { ...entry, goal: conversationGoal(body.messages), metadata: { via: 'chat.completions' } },
          caller,
        );
    c.header('X-Cadre-Run-Id', handle.runId);
    const now = Math.floor(Date.now() / 1000);
    if (body.stream)
      return streamCompletion(c, {
        handle,
        model: body.model,
        created: now,
        includeUsage: body.stream_options?.include_usage === true,
        heartbeatMs: options.heartbeatMs,
        ...(options.logger ? { logger: options.logger } : {}),
      });
    return c.json(chatCompletion(await handle.result, body.model, now), 200);
  });
  // Unknown paths under /v1 answer in OpenAI's shape too (after the key check: nothing leaks unauthenticated).
  app.all('*', (c) => {
    throw new CadreError('not_found', `No route ${c.req.method} ${c.req.path}`);
  });
  return app;
}

function modelsOf(app: CadreApp, created: number): Array<z.infer<typeof ModelSchema>> {
  const model = (id: string, kind: 'team' | 'agent') => ({
    id,
    object: 'model' as const,
    created,
    owned_by: 'cadre',
    kind,
  });
  return [
    ...[...app.teams.keys()].map((id) => model(id, 'team')),
    ...[...app.agents.keys()].map((id) => model(id, 'agent')),
  ];
}

function entryOf(app: CadreApp, model: string): { team: string } | { agent: string } {
  if (app.teams.has(model)) return { team: model };
  if (app.agents.has(model)) return { agent: model };
  throw unknownModel(model);
}

const unknownModel = (model: string) =>
  new CadreError(
    'not_found',
    `The model '${model}' does not exist: a model id names a registered team or agent (GET /v1/models lists them)`,
    { details: { param: 'model', code: 'model_not_found' } },
  );

/** Client-side tools cannot be honoured: a team calls its own tools, and never hands a call back. */
function refuseTools(body: ChatCompletionRequest, mode: 'reject' | 'ignore'): void {
  if (mode === 'ignore') return;
  for (const param of ['tools', 'functions'] as const) {
    const given = body[param];
    if (Array.isArray(given) && given.length > 0)
      throw new CadreError(
        'input_invalid',
        `\`${param}\` is not supported: a cadre team calls its own tools and never hands a tool call back to the client. Send the request without \`${param}\`, or start the server with CADRE_SERVE_OPENAI_TOOLS=ignore to have them ignored`,
        { details: { param, code: 'tools_not_supported' } },
      );
  }
}

/** The caller, scoped to the body's `user` as `X-Cadre-User` would scope it; the two must agree. */
function callerFor(caller: Caller, user: string | undefined): Caller {
  if (user === undefined || user === '') return caller;
  if (caller.user !== undefined && caller.user !== user)
    throw new CadreError('input_invalid', '`user` and the X-Cadre-User header name different users', {
      details: { param: 'user' },
    });
  return { ...caller, user };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
    .join('; ');
}
