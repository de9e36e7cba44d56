import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  LoggingLevelSchema,
  SetLevelRequestSchema,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';

/** Sends a log message to the client in the context of one of its requests. */
export type ClientLog = (extra: RequestExtra, level: LoggingLevel, data: Record<string, unknown>) => void;
export type RequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Log messages at or above the level the client set (all until it sets one). The level is kept
 * here, one server serving one session, so that a message about a request travels on that
 * request's own stream: over HTTP it then reaches the client before the response, with no GET stream.
 */
export function clientLog(server: McpServer): ClientLog {
  const severity = (level: LoggingLevel) => LoggingLevelSchema.options.indexOf(level);
  let threshold = 0;
  server.server.setRequestHandler(SetLevelRequestSchema, (request) => {
    threshold = severity(request.params.level);
    return {};
  });
  return (extra, level, data) => {
    if (severity(level) < threshold) return;
    void extra
      .sendNotification({ method: 'notifications/message', params: { level, logger: 'cadre', data } })
      .catch(() => undefined);
  };
}
