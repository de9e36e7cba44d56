import { HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAnthropicProvider, invokeModel, usageFromMessage } from 'cadre/models';
import { defineTool, toLangChainTool } from 'cadre/tools';
import { json, startWireServer } from '../fixtures/wire-server.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());

const message = (content: unknown[], stop = 'end_turn') => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content,
  stop_reason: stop,
  stop_sequence: null,
  usage: { input_tokens: 30, output_tokens: 9 },
});

async function anthropic(body: unknown) {
  server = await startWireServer((_req, res) => json(res, 200, body));
  return createAnthropicProvider({ apiKey: 'sk-ant-test-0000000000000000', baseURL: server.url });
}

describe('Anthropic provider (Messages API wire format)', () => {
  it('answers text with usage', async () => {
    const provider = await anthropic(message([{ type: 'text', text: 'Bonjour' }]));
    const reply = await invokeModel(provider.chatModel('claude-sonnet-4-5'), [new HumanMessage('hi')]);
    expect(reply.content).toBe('Bonjour');
    expect(usageFromMessage(reply)).toMatchObject({ inputTokens: 30, outputTokens: 9 });
    expect(server!.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(server!.requests[0]?.headers['x-api-key']).toBe('sk-ant-test-0000000000000000');
  });

  it('turns tool_use blocks into tool calls and sends the tool schema', async () => {
    const provider = await anthropic(
      message(
        [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Bergen' } },
        ],
        'tool_use',
      ),
    );
    const weather = toLangChainTool(
      defineTool({
        name: 'weather',
        description: 'weather',
        input: z.object({ city: z.string() }),
        effects: 'read',
        run: () => '',
      }),
    );
    const model = provider.chatModel('claude-sonnet-4-5').bindTools!([weather]) as Runnable<BaseMessage[], AIMessage>;
    const reply = await invokeModel(model, [new HumanMessage('Weather in Bergen?')]);
    expect(reply.tool_calls?.[0]).toMatchObject({ id: 'toolu_1', name: 'weather', args: { city: 'Bergen' } });
    const body = server!.requests[0]?.body as { tools: { name: string; input_schema: { properties: object } }[] };
    expect(body.tools[0]?.name).toBe('weather');
    expect(body.tools[0]?.input_schema.properties).toHaveProperty('city');
  });
});
