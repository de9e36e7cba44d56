import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { CadreError, type Logger } from '../../core/index.js';
import { statusOf } from './http-errors.js';

/** An error in OpenAI's shape: what OpenAI clients parse into their own error classes. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const typeByStatus: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'conflict_error',
  429: 'rate_limit_error',
  503: 'service_unavailable',
};

/**
 * An error as OpenAI's API sends it: `{ error: { message, type, param, code } }`, with the status
 * cadre gives the same error elsewhere. `details.param` and `details.code` of a CadreError name the
 * field at fault and the OpenAI code (e.g. `model_not_found`); cadre's code stands in otherwise.
 * A system error's message stays in the server's log.
 */
export function openAIError(thrown: unknown, logger?: Logger): { status: number; body: OpenAIErrorBody } {
  const error = asCadreError(thrown);
  const status = statusOf(error);
  if (status >= 500) logger?.error({ err: error.toJSON() }, 'request failed');
  const hidden = status >= 500 && status !== 503;
  const { param, code } = error.details as { param?: unknown; code?: unknown };
  return {
    status,
    body: {
      error: {
        message: hidden ? 'The server could not carry out the request' : error.message,
        type: typeByStatus[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
        param: typeof param === 'string' ? param : null,
        code: typeof code === 'string' ? code : error.code,
      },
    },
  };
}

/** Answers an error on `/v1` in OpenAI's shape, with the headers the rest of the API sends. */
export function openAIErrorResponse(c: Context, thrown: unknown, logger?: Logger): Response {
  const { status, body } = openAIError(thrown, logger);
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  const error = asCadreError(thrown);
  if (error.code === 'auth_failed') headers['WWW-Authenticate'] = 'Bearer realm="cadre"';
  const retry = error.details.retryAfterSeconds;
  if (typeof retry === 'number') headers['Retry-After'] = String(retry);
  return c.json(body, status as 400, headers);
}

function asCadreError(thrown: unknown): CadreError {
  if (CadreError.isInstance(thrown)) return thrown;
  if (thrown instanceof HTTPException && thrown.status < 500) {
    if (thrown.status === 413) return new CadreError('body_too_large', thrown.message);
    return new CadreError('input_invalid', thrown.message || 'Bad request: send the body as JSON');
  }
  return CadreError.from(thrown);
}
