import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { createCadreMcpServer, runGoalWith } from '../../src/server/mcp/index.js';

const echo = defineTool({
  name: 'echo',
  description: 'echoes',
  input: z.object({ text: z.string() }),
  effects: 'read',
  run: ({ text }) => text,
});
const agent = { name: 'echoer', instructions: 'Echo, then answer.', tools: [echo] };
const offline = { ollamaHost: 'http://127.0.0.1:2' };

async function callRunGoal(runGoal: (goal: string, signal: AbortSignal) => Promise<string>, goal: string) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createCadreMcpServer({ tools: [], runGoal }).connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  try {
    return (await client.callTool({ name: 'run_goal', arguments: { goal } })) as CallToolResult;
  } finally {
    await client.close();
  }
}

describe('run_goal backed by run()', () => {
  it('returns the answer of a completed cadre run', async () => {
    const model = new ScriptedChatModel({
      replies: [{ toolCalls: [{ name: 'echo', args: { text: 'hi' } }] }, 'done: hi'],
    });
    const result = await callRunGoal(runGoalWith({ agent, model, config: offline }), 'say hi');
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'done: hi' }]);
  });

  it('reports a run that ends without an answer as an isError result naming its status', async () => {
    const model = new ScriptedChatModel({
      respond: () => ({ toolCalls: [{ name: 'echo', args: { text: 'again' } }] }),
    });
    const result = await callRunGoal(runGoalWith({ agent, model, config: { ...offline, maxSteps: 2 } }), 'loop');
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/^Error \(run_failed\): Run .* ended budget_exceeded/);
  });
});
