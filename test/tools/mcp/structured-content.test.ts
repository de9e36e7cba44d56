import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StructuredOutput, ToolExecutor, createMcpToolset, type McpToolset } from 'cadre/tools';
import { startRecordingServer, type RecordingServer } from './recording-http-server.js';
import { testContext } from './mcp-servers.js';

const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, celsius: { type: 'number' } },
  required: ['city', 'celsius'],
};

let server: RecordingServer;
let toolset: McpToolset;
beforeAll(async () => {
  server = await startRecordingServer({
    register: (mcp) => {
      // Low-level handlers: McpServer checks its own output, and this server must be able to lie.
      mcp.server.registerCapabilities({ tools: {} });
      mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [{ name: 'weather', inputSchema: { type: 'object' as const }, outputSchema: weatherSchema }],
      }));
      mcp.server.setRequestHandler(CallToolRequestSchema, (request) => {
        const mode = request.params.arguments?.mode;
        const structured =
          mode === 'wrong'
            ? { city: 'Oslo', celsius: 'cold' }
            : mode === 'none'
              ? undefined
              : { city: 'Oslo', celsius: -3 };
        return {
          content: mode === 'json-only' ? [] : [{ type: 'text', text: 'It is cold in Oslo' }],
          ...(structured ? { structuredContent: structured } : {}),
        };
      });
    },
  });
  toolset = await createMcpToolset({ servers: { w: { url: server.url, effects: { weather: 'read' } } } });
});
afterAll(async () => {
  await toolset.close();
  await server.close();
});

const weather = () => toolset.tools().find((t) => t.mcpName === 'weather')!;

describe('MCP outputSchema and structuredContent', () => {
  it('passes on matching structuredContent as the value for code, next to the text the model reads', async () => {
    expect(weather().outputSchema).toEqual(weatherSchema);
    const output = await weather().run({ mode: 'ok' }, testContext());
    expect(StructuredOutput.isInstance(output)).toBe(true);
    expect((output as StructuredOutput).structured).toEqual({ city: 'Oslo', celsius: -3 });
    expect(String(output)).toBe('It is cold in Oslo');
    const executor = new ToolExecutor({ tools: [weather()] });
    const context = { runId: 'r', taskId: 't', step: 1 };
    expect(await executor.execute({ id: 'c1', name: weather().name, args: { mode: 'ok' } }, context)).toMatchObject({
      ok: true,
      output: 'It is cold in Oslo',
      structured: { city: 'Oslo', celsius: -3 },
    });
    // With no text beside it, the model reads the structured value as JSON.
    const jsonOnly = await executor.execute({ id: 'c2', name: weather().name, args: { mode: 'json-only' } }, context);
    expect(JSON.parse(jsonOnly.output)).toEqual({ city: 'Oslo', celsius: -3 });
  });

  it('turns structuredContent that does not match the schema into an error result naming the field', async () => {
    await expect(Promise.resolve(weather().run({ mode: 'wrong' }, testContext()))).rejects.toMatchObject({
      code: 'tool_failed',
      message: expect.stringMatching(/weather on server "w" returned structuredContent that does not match.*celsius/),
    });
    const executor = new ToolExecutor({ tools: [weather()] });
    const outcome = await executor.execute(
      { id: 'c2', name: weather().name, args: { mode: 'wrong' } },
      {
        runId: 'r',
        taskId: 't',
        step: 1,
      },
    );
    expect(outcome).toMatchObject({ ok: false, error: { code: 'tool_failed' } });
  });

  it('fails a call to a tool with an outputSchema that returns no structuredContent', async () => {
    await expect(Promise.resolve(weather().run({ mode: 'none' }, testContext()))).rejects.toMatchObject({
      code: 'tool_failed',
      // The SDK says so itself for tools on the last page it listed; cadre for the rest.
      message: expect.stringMatching(
        /output schema but (did not return structured content|returned no structuredContent)/,
      ),
    });
  });
});
