import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../src/core/index.js';

type PinoLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

// MCP has syslog's eight levels, pino six: the three most severe all become fatal.
const pinoLevelOf: Record<LoggingLevel, PinoLevel> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
};

const mcpLevelOf: Record<string, LoggingLevel> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
  fatal: 'critical',
  silent: 'emergency',
};

/** The MCP level to ask a server for: the least severe one `logger` would still write. */
export function mcpLogLevelFor(logger: Logger): LoggingLevel {
  return mcpLevelOf[logger.level] ?? 'warning';
}

/**
 * Writes one `notifications/message` from a server into cadre's logger at the mapped level, tagged
 * with the server's name (and the server's own logger name, when it gives one).
 */
export function logServerMessage(logger: Logger, server: string, params: LoggingMessageNotification['params']): void {
  const level = pinoLevelOf[params.level] ?? 'info';
  const tags = { mcpServer: server, ...(params.logger ? { mcpLogger: params.logger } : {}) };
  if (typeof params.data === 'string') logger[level](tags, params.data);
  else logger[level]({ ...tags, data: params.data }, `MCP server "${server}" log`);
}
