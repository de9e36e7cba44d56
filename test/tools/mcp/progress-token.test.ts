import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpToolset, type McpEvent } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) =>
      mcp.registerTool('count', { description: 'Reports two progress steps' }, async (extra) => {
        const token = extra._meta?.progressToken;
        if (token !== undefined) {
          for (const progress of [1, 2])
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress, total: 2 },
            });
        }
        return { content: [{ type: 'text', text: 'counted' }] };
      }),
  });
});
afterAll(() => server.close());

const lastCallMeta = () =>
  server.received.flatMap((m) => ('method' in m && m.method === 'tools/call' ? [m.params?._meta] : [])).at(-1);

describe('MCP progress', () => {
  it('asks the server for progress only when someone listens for it', async () => {
    const quiet = await createMcpToolset({ servers: { s: { url: server.url } } });
    try {
      expect(await quiet.tools()[0]!.run({}, testContext())).toBe('counted');
      expect(lastCallMeta()?.progressToken).toBeUndefined();
    } finally {
      await quiet.close();
    }

    const events: McpEvent[] = [];
    const listening = await createMcpToolset({ servers: { s: { url: server.url } }, onEvent: (e) => events.push(e) });
    try {
      expect(await listening.tools()[0]!.run({}, { ...testContext(), callId: 'p1' })).toBe('counted');
      expect(lastCallMeta()?.progressToken).toBeDefined();
      expect(events.flatMap((e) => (e.type === 'mcp.progress' ? [[e.progress, e.total, e.callId]] : []))).toEqual([
        [1, 2, 'p1'],
        [2, 2, 'p1'],
      ]);
    } finally {
      await listening.close();
    }
  });
});
