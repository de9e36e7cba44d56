import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { CadreError } from '../../core/index.js';

/** The JSON-RPC code the MCP spec gives a resource that does not exist. */
export const resourceNotFound = -32002;

const notFoundCodes = new Set(['run_not_found', 'not_found', 'team_not_found']);

/**
 * The MCP error a client gets for a failure: a missing run or team is "resource not found", other
 * errors the caller caused are invalid params, the rest internal. The CadreError code and details
 * travel in `data`, so a client can branch on them as cadre's own callers do.
 */
export function toMcpError(error: unknown): McpError {
  if (error instanceof McpError) return error;
  const failure = CadreError.from(error);
  const code = notFoundCodes.has(failure.code)
    ? resourceNotFound
    : failure.kind === 'user'
      ? ErrorCode.InvalidParams
      : ErrorCode.InternalError;
  return new McpError(code, failure.message, { code: failure.code, ...failure.details });
}
