import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, type CallToolResult, type TextResourceContents } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { defineApp, withBuiltins } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';
import { createCadreMcpServer, runGoalWith, type RunGoalContext } from '../../src/server/mcp/index.js';
import { connectInMemory, mcpError, scriptedRun, tempStore } from './mcp-fixtures.js';

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

// A registry with the built-in demo team and one of the user's own.
const app = withBuiltins(
  defineApp({
    teams: {
      writers: { agent: { name: 'writer', instructions: 'Write.' }, model: new ScriptedChatModel({ replies: ['ok'] }) },
    },
  }),
);

describe('cadre MCP server: teams as prompts', () => {
  it('lists one prompt per registered team, each taking a required goal', async () => {
    const client = await connectInMemory(createCadreMcpServer({ tools: [], app, runGoal: async () => 'ok' }), clients);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['demo', 'writers']);
    for (const prompt of prompts) {
      expect(prompt.description).toContain(`"${prompt.name}"`);
      expect(prompt.arguments).toEqual([expect.objectContaining({ name: 'goal', required: true })]);
    }
    expect(client.getServerCapabilities()?.prompts).toEqual({ listChanged: false });
  });

  it('gets a prompt whose message asks to run that team on the goal with run_goal', async () => {
    const client = await connectInMemory(createCadreMcpServer({ tools: [], app, runGoal: async () => 'ok' }), clients);
    const prompt = await client.getPrompt({ name: 'writers', arguments: { goal: 'a limerick about queues' } });
    expect(prompt.messages).toHaveLength(1);
    expect(prompt.messages[0]!.role).toBe('user');
    const text = (prompt.messages[0]!.content as { text: string }).text;
    expect(text).toContain('run_goal tool with team "writers"');
    expect(text).toMatch(/Goal: a limerick about queues$/);
    expect((await mcpError(client.getPrompt({ name: 'nobody', arguments: { goal: 'x' } }))).code).toBe(
      ErrorCode.InvalidParams,
    );
    expect((await mcpError(client.getPrompt({ name: 'demo', arguments: {} }))).code).toBe(ErrorCode.InvalidParams);
  });

  it('offers no prompts without run_goal to carry them out', async () => {
    const client = await connectInMemory(createCadreMcpServer({ tools: [], app }), clients);
    expect(client.getServerCapabilities()?.prompts).toBeUndefined();
  });

  it('completes a prompt’s goal from the goals of earlier runs, by prefix and ignoring case', async () => {
    const { store, config } = tempStore();
    for (const goal of ['Summarise the report', 'sum 2 and 3', 'Write a poem', 'sum 2 and 3'])
      await scriptedRun(config, goal);
    const client = await connectInMemory(
      createCadreMcpServer({ tools: [], app, store, runGoal: async () => 'ok' }),
      clients,
    );
    const complete = (value: string) =>
      client.complete({ ref: { type: 'ref/prompt', name: 'demo' }, argument: { name: 'goal', value } });
    expect((await complete('SU')).completion.values.sort()).toEqual(['Summarise the report', 'sum 2 and 3']);
    expect((await complete('write')).completion.values).toEqual(['Write a poem']);
    expect((await complete('zzz')).completion.values).toEqual([]);
    const unknown = client.complete({
      ref: { type: 'ref/prompt', name: 'nobody' },
      argument: { name: 'goal', value: 'x' },
    });
    expect((await mcpError(unknown)).code).toBe(ErrorCode.InvalidParams);
  });

  it('runs the team a client names through run_goal and links the run it made', async () => {
    const { store, config } = tempStore();
    const client = await connectInMemory(
      createCadreMcpServer({ tools: [], app, store, runGoal: runGoalWith({ config }, { app }) }),
      clients,
    );
    const tool = (await client.listTools()).tools.find((t) => t.name === 'run_goal')!;
    expect(tool.inputSchema.properties?.team).toMatchObject({ enum: ['demo', 'writers'] });
    const result = (await client.callTool({
      name: 'run_goal',
      arguments: { goal: 'What is `17 * 23`?', team: 'demo' },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect((result.content[0] as { text: string }).text).toContain('391');
    const link = result.content[1] as { type: string; uri: string; name: string };
    expect(link).toMatchObject({ type: 'resource_link', uri: `cadre://runs/${link.name}` });
    const record = JSON.parse(
      ((await client.readResource({ uri: link.uri })).contents[0] as TextResourceContents).text,
    ) as { team: string; status: string };
    expect(record).toMatchObject({ team: 'demo', status: 'completed' });
    const unknown = (await client.callTool({
      name: 'run_goal',
      arguments: { goal: 'x', team: 'nobody' },
    })) as CallToolResult;
    expect(unknown.isError).toBe(true);
  });

  it('passes the named team to a custom runGoal callback', async () => {
    const seen: Array<RunGoalContext['team']> = [];
    const client = await connectInMemory(
      createCadreMcpServer({
        tools: [],
        app,
        runGoal: async (goal, _signal, context) => {
          seen.push(context?.team);
          return goal;
        },
      }),
      clients,
    );
    await client.callTool({ name: 'run_goal', arguments: { goal: 'g', team: 'writers' } });
    await client.callTool({ name: 'run_goal', arguments: { goal: 'g' } });
    expect(seen).toEqual(['writers', undefined]);
  });
});
