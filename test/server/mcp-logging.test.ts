import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { createCalculatorTool } from 'cadre/tools';
import {
  createCadreMcpServer,
  serveHttp,
  type CadreMcpServerOptions,
  type HttpServing,
} from '../../src/server/mcp/index.js';
import { connectInMemory, tempStore } from './mcp-fixtures.js';

type Message = LoggingMessageNotification['params'];
const clients: Client[] = [];
let serving: HttpServing | undefined;
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await serving?.close();
  serving = undefined;
});

const listen = (client: Client) => {
  const messages: Message[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params));
  return messages;
};
const badSum = { name: 'calculator', arguments: { expression: 'import("fs")' } };

// run_goal reports a run id as a real run does, and fails for goals that say so.
const options: CadreMcpServerOptions = {
  tools: [createCalculatorTool()],
  runGoal: async (goal, _signal, context) => {
    context?.onRunStarted?.('run_logged');
    if (goal === 'fail')
      throw new CadreError('run_failed', 'Run run_logged ended failed', { details: { runId: 'run_logged' } });
    return 'done';
  },
};

describe('cadre MCP server: log messages', () => {
  it('sends tool failures and run_goal progress at or above the level the client set, nothing below', async () => {
    const client = await connectInMemory(createCadreMcpServer(options), clients);
    const messages = listen(client);

    await client.setLoggingLevel('warning');
    await client.callTool(badSum);
    await client.callTool({ name: 'run_goal', arguments: { goal: 'succeed' } });
    expect(messages).toEqual([
      {
        level: 'warning',
        logger: 'cadre',
        data: expect.objectContaining({ message: 'tool calculator failed', tool: 'calculator', code: 'input_invalid' }),
      },
    ]);

    messages.length = 0;
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'run_goal', arguments: { goal: 'succeed' } });
    await client.callTool({ name: 'run_goal', arguments: { goal: 'fail' } });
    expect(messages.map((m) => [m.level, (m.data as { message: string }).message])).toEqual([
      ['info', 'run run_logged started'],
      ['info', 'run run_logged completed'],
      ['info', 'run run_logged started'],
      ['error', 'Run run_logged ended failed'],
    ]);

    messages.length = 0;
    await client.setLoggingLevel('emergency');
    await client.callTool(badSum);
    await client.callTool({ name: 'run_goal', arguments: { goal: 'fail' } });
    expect(messages).toEqual([]);
  });

  it('keeps each HTTP session’s level apart and delivers messages before the response', async () => {
    serving = await serveHttp(() => createCadreMcpServer(options));
    const connect = async () => {
      const client = new Client({ name: 'http', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(serving!.url)));
      clients.push(client);
      return { client, messages: listen(client) };
    };
    const quiet = await connect();
    const loud = await connect();
    await quiet.client.setLoggingLevel('error');
    await loud.client.setLoggingLevel('debug');
    await quiet.client.callTool(badSum);
    await loud.client.callTool(badSum);
    expect(quiet.messages).toEqual([]);
    expect(loud.messages.map((m) => m.level)).toEqual(['warning']);
  });

  it('links a finished run_goal to its run resource when the server has a store', async () => {
    const { store } = tempStore();
    const client = await connectInMemory(createCadreMcpServer({ ...options, store }), clients);
    const result = await client.callTool({ name: 'run_goal', arguments: { goal: 'succeed' } });
    expect(result.content).toEqual([
      { type: 'text', text: 'done' },
      { type: 'resource_link', uri: 'cadre://runs/run_logged', name: 'run_logged', mimeType: 'application/json' },
    ]);
  });
});
