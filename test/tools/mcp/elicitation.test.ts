import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMcpToolset,
  declineReasonMetaKey,
  type McpElicitRequest,
  type McpEvent,
  type McpToolCall,
} from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) => {
      mcp.registerTool('deploy', { description: 'Asks the user before deploying' }, async (extra) => {
        try {
          const answer = await mcp.server.elicitInput(
            {
              message: 'Deploy to production?',
              requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] },
            },
            { relatedRequestId: extra.requestId },
          );
          return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
        } catch (error) {
          return { content: [{ type: 'text', text: `elicitation failed: ${(error as Error).message}` }] };
        }
      });
      mcp.registerTool('profile', { description: 'Asks for a profile with defaults' }, async (extra) => {
        const answer = await mcp.server.elicitInput(
          {
            message: 'Your profile?',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', default: 'John Doe' },
                age: { type: 'integer', default: 30 },
                status: { type: 'string', enum: ['active', 'inactive'], default: 'active' },
                nickname: { type: 'string' },
              },
            },
          },
          { relatedRequestId: extra.requestId },
        );
        return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
      });
    },
  });
});
afterAll(() => server.close());

const clientCapabilities = () =>
  server.received.flatMap((m) => ('method' in m && m.method === 'initialize' ? [m.params?.capabilities] : [])).at(-1);
const deploy = async (toolset: Awaited<ReturnType<typeof createMcpToolset>>) =>
  String(
    await toolset
      .tools()
      .find((t) => t.name === 'ops__deploy')!
      .run({}, testContext()),
  );

describe('MCP elicitation', () => {
  it("hands the server's question to the toolset's elicit handler and returns its answer", async () => {
    const asked: McpElicitRequest[] = [];
    const events: McpEvent[] = [];
    const toolset = await createMcpToolset({
      servers: { ops: { url: server.url } },
      elicit: async (request) => {
        asked.push(request);
        return { action: 'accept', content: { confirm: true } };
      },
      onEvent: (e) => events.push(e),
    });
    try {
      expect(clientCapabilities()).toMatchObject({ elicitation: { form: {} } });
      expect(JSON.parse(await deploy(toolset))).toEqual({ action: 'accept', content: { confirm: true } });
      expect(asked).toEqual([
        expect.objectContaining({
          server: 'ops',
          params: expect.objectContaining({ message: 'Deploy to production?' }),
        }),
      ]);
      expect(events).toContainEqual({ type: 'mcp.elicitation', server: 'ops', action: 'accept' });
    } finally {
      await toolset.close();
    }
  });

  it("fills in the schema's defaults for fields an accepted answer left out", async () => {
    const toolset = await createMcpToolset({
      servers: { ops: { url: server.url } },
      elicit: () => Promise.resolve({ action: 'accept', content: { age: 41 } }),
    });
    try {
      const profile = toolset.tools().find((t) => t.name === 'ops__profile')!;
      expect(JSON.parse(String(await profile.run({}, testContext())))).toEqual({
        action: 'accept',
        content: { name: 'John Doe', age: 41, status: 'active' },
      });
    } finally {
      await toolset.close();
    }
  });

  it('makes a watched call again when its watcher says so, for the server to ask again and be answered', async () => {
    const answers = [{ action: 'cancel' as const }, { action: 'accept' as const, content: { confirm: true } }];
    const watched: McpToolCall[] = [];
    const toolset = await createMcpToolset({
      servers: { ops: { url: server.url } },
      elicit: () => Promise.resolve(answers.shift()!),
      watchCall: (call) => {
        watched.push(call);
        // The first call's question was cancelled: make it again; the second was answered.
        return () => (answers.length ? 'again' : 'done');
      },
    });
    try {
      expect(JSON.parse(await deploy(toolset))).toEqual({ action: 'accept', content: { confirm: true } });
      expect(watched).toEqual([
        { server: 'ops', tool: 'deploy', taskId: 't', callId: 'c' },
        { server: 'ops', tool: 'deploy', taskId: 't', callId: 'c' },
      ]);
    } finally {
      await toolset.close();
    }
  });

  it('declines with a reason when nobody can answer', async () => {
    const toolset = await createMcpToolset({ servers: { ops: { url: server.url } } });
    try {
      const answer = JSON.parse(await deploy(toolset)) as { action: string; _meta?: Record<string, unknown> };
      expect(answer.action).toBe('decline');
      expect(answer._meta?.[declineReasonMetaKey]).toMatch(/nobody can answer/);
    } finally {
      await toolset.close();
    }
  });

  it('does not offer elicitation to a server whose config says elicitation: false', async () => {
    let called = false;
    const toolset = await createMcpToolset({
      servers: { ops: { url: server.url, elicitation: false } },
      elicit: () => {
        called = true;
        return Promise.resolve({ action: 'cancel' });
      },
    });
    try {
      expect(clientCapabilities()).not.toHaveProperty('elicitation');
      expect(await deploy(toolset)).toMatch(/^elicitation failed: .*does not support form elicitation/);
      expect(called).toBe(false);
    } finally {
      await toolset.close();
    }
  });
});
