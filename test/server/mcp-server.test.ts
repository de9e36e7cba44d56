import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createCalculatorTool, type Tool } from 'cadre/tools';
import { createCadreMcpServer, serveHttp, type HttpServing } from '../../src/server/mcp/index.js';
import { countingTool } from './mcp-fixtures.js';

// The executor may wrap tool output in untrusted-data delimiters; the value is what matters here.
const firstText = (result: unknown) =>
  ((result as CallToolResult).content[0] as { text: string }).text.replace(
    /^<tool_output[^>]*>\n([\s\S]*)\n<\/tool_output[^>]*>$/,
    '$1',
  );
let serving: HttpServing | undefined;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await serving?.close();
  serving = undefined;
});

function makeServer(tools: Tool[]) {
  const goals: string[] = [];
  const create = () =>
    createCadreMcpServer({
      tools,
      runGoal: async (goal) => {
        goals.push(goal);
        return `done: ${goal}`;
      },
    });
  return { create, goals };
}

async function inMemoryClient(tools: Tool[]) {
  const { create, goals } = makeServer(tools);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await create().connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return { client, goals };
}

describe('cadre MCP server', () => {
  it('lists cadre tools with their JSON schema and effect hints, plus run_goal', async () => {
    const { tool } = countingTool();
    const { client } = await inMemoryClient([createCalculatorTool(), tool]);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['calculator', 'count', 'run_goal']);
    const calculator = tools.find((t) => t.name === 'calculator')!;
    expect(calculator.inputSchema.properties).toHaveProperty('expression');
    expect(calculator.inputSchema.required).toEqual(['expression']);
    expect(calculator.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(tools.find((t) => t.name === 'count')!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
    });
  });

  it('calls a cadre tool through the executor and reports failures as isError results', async () => {
    const { client } = await inMemoryClient([createCalculatorTool()]);
    const ok = await client.callTool({ name: 'calculator', arguments: { expression: '6 * 7' } });
    expect(ok.isError).toBeFalsy();
    expect(firstText(ok)).toBe('42');
    const bad = await client.callTool({ name: 'calculator', arguments: { expression: 'import("fs")' } });
    expect(bad.isError).toBe(true);
    expect(firstText(bad)).toMatch(/Error \(input_invalid\)/);
  });

  it('runs a whole goal through the run_goal callback', async () => {
    const { client, goals } = await inMemoryClient([]);
    const result = await client.callTool({ name: 'run_goal', arguments: { goal: 'write a haiku' } });
    expect(firstText(result)).toBe('done: write a haiku');
    expect(goals).toEqual(['write a haiku']);
  });

  it('serves the same over HTTP on loopback, one server per session, with a bearer token', async () => {
    const counter = countingTool();
    const { create, goals } = makeServer([createCalculatorTool(), counter.tool]);
    serving = await serveHttp(create, { port: 0, bearerToken: 's3cret' });
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    for (let i = 0; i < 2; i++) {
      const transport = new StreamableHTTPClientTransport(new URL(serving.url), {
        requestInit: { headers: { Authorization: 'Bearer s3cret' } },
      });
      const client = new Client({ name: `http-${i}`, version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      expect((await client.listTools()).tools).toHaveLength(3);
      expect(firstText(await client.callTool({ name: 'calculator', arguments: { expression: '2^10' } }))).toBe('1024');
      expect(firstText(await client.callTool({ name: 'count', arguments: {} }))).toBe(String(i + 1));
      expect(firstText(await client.callTool({ name: 'run_goal', arguments: { goal: `g${i}` } }))).toBe(`done: g${i}`);
    }
    expect(goals).toEqual(['g0', 'g1']);
  });

  it('serves a single McpServer instance to its first session only', async () => {
    serving = await serveHttp(createCadreMcpServer({ tools: [] }));
    const connect = async () => {
      const client = new Client({ name: 'single', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(serving!.url)));
      clients.push(client);
    };
    await connect();
    await expect(connect()).rejects.toThrow(/one session/);
  });
});
