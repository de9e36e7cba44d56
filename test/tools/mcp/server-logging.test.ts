import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from 'cadre';
import { createMcpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer({
    serverOptions: { capabilities: { logging: {} } },
    register: (mcp) =>
      mcp.registerTool('work', { description: 'Logs while it works' }, async (extra) => {
        // Through the SDK's per-session level filter, as a real server logs.
        await mcp.server.sendLoggingMessage({ level: 'debug', logger: 'db', data: 'chatty detail' }, extra.sessionId);
        await mcp.server.sendLoggingMessage(
          { level: 'warning', logger: 'db', data: 'disk almost full' },
          extra.sessionId,
        );
        await mcp.server.sendLoggingMessage({ level: 'critical', data: { free: 0 } }, extra.sessionId);
        return { content: [{ type: 'text', text: 'done' }] };
      }),
  });
});
afterAll(() => server.close());

describe('MCP server logging', () => {
  it("sets the server's log level from cadre's logger and logs its messages at the mapped level, tagged with the server", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ name: 'mcp-log-test', level: 'info', destination });
    const toolset = await createMcpToolset({ servers: { store: { url: server.url } }, logger });
    try {
      const setLevel = server.received.find((m) => 'method' in m && m.method === 'logging/setLevel');
      expect(setLevel && 'params' in setLevel ? setLevel.params : undefined).toEqual({ level: 'info' });
      expect(await toolset.tools()[0]!.run({}, testContext())).toBe('done');
      await vi.waitFor(() => expect(lines).toHaveLength(2), { timeout: 5_000 });
      // pino's numbers: 40 warn, 60 fatal. The debug message was held back by the server.
      expect(lines[0]).toMatchObject({ level: 40, mcpServer: 'store', mcpLogger: 'db', msg: 'disk almost full' });
      expect(lines[1]).toMatchObject({ level: 60, mcpServer: 'store', data: { free: 0 } });
      expect(lines.some((line) => line.msg === 'chatty detail')).toBe(false);
    } finally {
      await toolset.close();
    }
  });
});
