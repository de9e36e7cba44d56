import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

const toolCount = 250;
const pageSize = 100;

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) => {
      // The low-level server: McpServer always answers tools/list in one page.
      mcp.server.registerCapabilities({ tools: {} });
      mcp.server.setRequestHandler(ListToolsRequestSchema, (request) => {
        const start = Number(request.params?.cursor ?? 0);
        const end = Math.min(start + pageSize, toolCount);
        const tools = Array.from({ length: end - start }, (_, i) => ({
          name: `t${start + i}`,
          inputSchema: { type: 'object' as const },
        }));
        return { tools, ...(end < toolCount ? { nextCursor: String(end) } : {}) };
      });
      mcp.server.setRequestHandler(CallToolRequestSchema, (request) => ({
        content: [{ type: 'text', text: `ran ${request.params.name}` }],
      }));
    },
  });
});
afterAll(() => server.close());

describe('tools/list pagination', () => {
  it('follows nextCursor to the end: 250 tools in pages of 100 give 250 tools', async () => {
    const toolset = await createMcpToolset({ servers: { paged: { url: server.url } } });
    try {
      const names = toolset.tools().map((t) => t.mcpName);
      expect(names).toHaveLength(toolCount);
      expect(new Set(names).size).toBe(toolCount);
      expect(names).toContain('t0');
      expect(names).toContain('t249');
      const cursors = server.received.flatMap((m) =>
        'method' in m && m.method === 'tools/list' ? [m.params?.cursor ?? null] : [],
      );
      expect(cursors).toEqual([null, '100', '200']);
      // A tool from the first page is as callable as one from the last.
      const first = toolset.tools().find((t) => t.mcpName === 't0')!;
      expect(await first.run({}, testContext())).toBe('ran t0');
    } finally {
      await toolset.close();
    }
  });
});
