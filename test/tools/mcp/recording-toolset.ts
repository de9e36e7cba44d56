// A toolset whose logs and events are kept, for OAuth tests that look for secrets in them; not a test file itself.
import { PassThrough } from 'node:stream';
import { createLogger } from 'cadre';
import { createMcpToolset, type McpEvent, type McpHttpServerConfig } from 'cadre/tools';

/** A toolset on the server `secure` at `config`, logging at debug into memory, its events kept. */
export async function recordingToolset(config: McpHttpServerConfig, oauthDir: string) {
  const log = new PassThrough();
  const lines: string[] = [];
  log.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  const events: McpEvent[] = [];
  const toolset = await createMcpToolset({
    servers: { secure: config },
    oauthDir,
    logger: createLogger({ name: 'oauth-test', level: 'debug', destination: log }),
    onEvent: (event) => events.push(event),
  });
  return {
    toolset,
    /** Everything logged and every event, as one string. */
    seen: () => JSON.stringify({ lines, events }),
    /** The errors servers failed to start with, from the toolset's events. */
    failures: () => events.flatMap((e) => (e.type === 'mcp.state' && e.error ? [e.error] : [])),
  };
}
