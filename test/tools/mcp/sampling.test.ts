import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpToolset, type McpEvent, type McpSamplingRequest } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) =>
      mcp.registerTool('ask', { description: 'Asks the client for a completion' }, async (extra) => {
        try {
          const result = await mcp.server.createMessage(
            { messages: [{ role: 'user', content: { type: 'text', text: 'What is 2 + 2?' } }], maxTokens: 20 },
            { relatedRequestId: extra.requestId },
          );
          const text = result.content.type === 'text' ? result.content.text : result.content.type;
          return { content: [{ type: 'text', text: `model ${result.model} said ${text}` }] };
        } catch (error) {
          return { content: [{ type: 'text', text: `sampling failed: ${(error as Error).message}` }] };
        }
      }),
  });
});
afterAll(() => server.close());

const clientCapabilities = () =>
  server.received.flatMap((m) => ('method' in m && m.method === 'initialize' ? [m.params?.capabilities] : [])).at(-1);

describe('MCP sampling', () => {
  it("routes an allowed server's sampling request to the toolset's handler and reports it", async () => {
    const requests: McpSamplingRequest[] = [];
    const events: McpEvent[] = [];
    const toolset = await createMcpToolset({
      servers: { helper: { url: server.url, sampling: true } },
      sampling: async (request) => {
        requests.push(request);
        return { role: 'assistant', content: { type: 'text', text: '4' }, model: 'scripted' };
      },
      onEvent: (e) => events.push(e),
    });
    try {
      expect(clientCapabilities()).toMatchObject({ sampling: {} });
      expect(await toolset.tools()[0]!.run({}, testContext())).toBe('model scripted said 4');
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({
        server: 'helper',
        params: { maxTokens: 20, messages: [{ role: 'user', content: { text: 'What is 2 + 2?' } }] },
      });
      expect(events).toContainEqual({ type: 'mcp.sampling', server: 'helper', allowed: true });
    } finally {
      await toolset.close();
    }
  });

  it('refuses with a clear error when the server is allowed but cadre was given no sampling handler', async () => {
    const events: McpEvent[] = [];
    const toolset = await createMcpToolset({
      servers: { helper: { url: server.url, sampling: true } },
      onEvent: (e) => events.push(e),
    });
    try {
      expect(await toolset.tools()[0]!.run({}, testContext())).toMatch(
        /^sampling failed: .*cadre refused sampling for MCP server "helper": no model is available/,
      );
      expect(events).toContainEqual(expect.objectContaining({ type: 'mcp.sampling', allowed: false }));
    } finally {
      await toolset.close();
    }
  });

  it('never offers sampling to a server whose config does not allow it, even with a handler', async () => {
    let called = false;
    const toolset = await createMcpToolset({
      servers: { helper: { url: server.url } },
      sampling: () => {
        called = true;
        return Promise.reject(new Error('must not be asked'));
      },
    });
    try {
      expect(clientCapabilities()).not.toHaveProperty('sampling');
      expect(await toolset.tools()[0]!.run({}, testContext())).toMatch(/^sampling failed: /);
      expect(called).toBe(false);
    } finally {
      await toolset.close();
    }
  });
});
