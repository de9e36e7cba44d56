import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from '@hono/zod-openapi';
import { CadreError, type ErrorCode, type Logger } from '../../core/index.js';

/** The body of every error answer: a stable code and a message. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'run_not_found' }),
      message: z.string(),
    }),
  })
  .openapi('Error');

const statusByCode: Partial<Record<ErrorCode, number>> = {
  input_invalid: 400,
  config_invalid: 400,
  plan_invalid: 400,
  auth_failed: 401,
  request_forbidden: 403,
  run_not_found: 404,
  job_not_found: 404,
  team_not_found: 404,
  not_found: 404,
  run_conflict: 409,
  body_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** The HTTP status for an error: by its code, else 400 for what the caller can fix and 500 for the rest. */
export function statusOf(error: CadreError): number {
  return statusByCode[error.code] ?? (error.kind === 'user' ? 400 : 500);
}

/**
 * Answers any error as JSON with its code. A system error's message stays in the server's log:
 * it may name files or hosts the caller has no business seeing.
 */
export function errorResponse(c: Context, thrown: unknown, logger?: Logger): Response {
  const error = asCadreError(thrown);
  const status = statusOf(error);
  if (status >= 500) logger?.error({ err: error.toJSON(), path: c.req.path }, 'request failed');
  const message = status >= 500 && status !== 503 ? 'The server could not carry out the request' : error.message;
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (error.code === 'auth_failed') headers['WWW-Authenticate'] = 'Bearer realm="cadre"';
  const retry = error.details.retryAfterSeconds;
  if (typeof retry === 'number') headers['Retry-After'] = String(retry);
  return c.json({ error: { code: error.code, message } }, status as 400, headers);
}

/** Hono's own exceptions (malformed JSON, wrong media type) as cadre errors. */
function asCadreError(thrown: unknown): CadreError {
  if (CadreError.isInstance(thrown)) return thrown;
  if (thrown instanceof HTTPException) {
    if (thrown.status === 415)
      return new CadreError('input_invalid', 'Send the body as JSON, with Content-Type: application/json');
    if (thrown.status === 413) return new CadreError('body_too_large', thrown.message);
    if (thrown.status < 500) return new CadreError('input_invalid', thrown.message || 'Bad request');
  }
  return CadreError.from(thrown);
}
