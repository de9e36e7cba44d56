import { HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { costOf, createOpenAICompatibleProvider, invokeModel, usageFromMessage } from 'cadre/models';
import { defineTool, toLangChainTool } from 'cadre/tools';
import { json, sse, startWireServer, type WireHandler } from '../fixtures/wire-server.js';
import { chunk, completion, toolCall } from '../fixtures/openai-wire.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());

async function openai(handler: WireHandler) {
  server = await startWireServer(handler);
  return createOpenAICompatibleProvider({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-key-000000000000' });
}
const ask = [new HumanMessage('hi')];
const weather = toLangChainTool(
  defineTool({
    name: 'weather',
    description: 'weather',
    input: z.object({ city: z.string() }),
    effects: 'read',
    run: () => '',
  }),
);

describe('OpenAI-compatible provider (chat completions wire format)', () => {
  it('answers text and reports usage and cost', async () => {
    const provider = await openai((_req, res) =>
      json(
        res,
        200,
        completion({ content: 'Hello!' }, { prompt_tokens: 1_000_000, completion_tokens: 0, total_tokens: 1_000_000 }),
      ),
    );
    const message = await invokeModel(provider.chatModel('gpt-4o-mini'), ask);
    expect(message.content).toBe('Hello!');
    const usage = usageFromMessage(message);
    expect(usage).toEqual({ inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 });
    expect(costOf({ model: 'gpt-4o-mini', location: 'cloud' }, usage)).toEqual({ usd: 0.15, priced: true });
    expect(server!.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(server!.requests[0]?.headers.authorization).toBe('Bearer sk-test-key-000000000000');
  });

  it('sends bound tools and parses two parallel tool calls', async () => {
    const provider = await openai((_req, res) =>
      json(
        res,
        200,
        completion({
          tool_calls: [
            toolCall('call_a', 'weather', { city: 'Oslo' }),
            toolCall('call_b', 'weather', { city: 'Rome' }),
          ],
        }),
      ),
    );
    const model = provider.chatModel('gpt-4o-mini').bindTools!([weather]) as Runnable<BaseMessage[], AIMessage>;
    const message = await invokeModel(model, ask);
    expect(message.tool_calls?.map((c) => [c.id, c.name, c.args])).toEqual([
      ['call_a', 'weather', { city: 'Oslo' }],
      ['call_b', 'weather', { city: 'Rome' }],
    ]);
    const body = server!.requests[0]?.body as {
      tools: { function: { name: string; parameters: { properties: object } } }[];
    };
    expect(body.tools[0]?.function.name).toBe('weather');
    expect(body.tools[0]?.function.parameters.properties).toHaveProperty('city');
  });

  it('streams SSE chunks, including tool-call deltas and usage', async () => {
    const provider = await openai((_req, res) =>
      sse(res, [
        chunk({ role: 'assistant', content: 'Hel' }),
        chunk({ content: 'lo' }),
        chunk({
          tool_calls: [
            { index: 0, id: 'call_s', type: 'function', function: { name: 'weather', arguments: '{"city":' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Lima"}' } }] }),
        chunk({}, 'tool_calls'),
        chunk({}, null, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }),
      ]),
    );
    const model = provider.chatModel('gpt-4o-mini').bindTools!([weather]);
    const pieces: string[] = [];
    let full: AIMessage | undefined;
    for await (const part of await model.stream(ask)) {
      pieces.push(String(part.content));
      full = full ? (full as never as { concat(x: unknown): AIMessage }).concat(part) : (part as never as AIMessage);
    }
    expect(pieces.join('')).toBe('Hello');
    expect(full?.tool_calls?.[0]).toMatchObject({ id: 'call_s', name: 'weather', args: { city: 'Lima' } });
    expect(usageFromMessage(full!)).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 });
    expect((server!.requests[0]?.body as { stream: boolean }).stream).toBe(true);
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    let calls = 0;
    const provider = await openai((_req, res) => {
      calls += 1;
      if (calls === 1) json(res, 429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after': '1' });
      else json(res, 200, completion({ content: 'ok' }));
    });
    const started = performance.now();
    const message = await invokeModel(provider.chatModel('gpt-4o-mini'), ask, { retry: { baseDelayMs: 10 } });
    expect(message.content).toBe('ok');
    expect(calls).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up on a persistent 500 with provider_error after the bounded attempts', async () => {
    const provider = await openai((_req, res) => json(res, 500, { error: { message: 'boom' } }));
    await expect(
      invokeModel(provider.chatModel('gpt-4o-mini'), ask, {
        ref: { provider: 'openai', model: 'gpt-4o-mini' },
        retry: { retries: 2, baseDelayMs: 5 },
      }),
    ).rejects.toMatchObject({
      code: 'provider_error',
      kind: 'system',
    });
    expect(server!.requests).toHaveLength(3);
  });

  it('maps 401 to model_unavailable without retrying', async () => {
    const provider = await openai((_req, res) => json(res, 401, { error: { message: 'bad key' } }));
    await expect(invokeModel(provider.chatModel('gpt-4o-mini'), ask)).rejects.toMatchObject({
      code: 'model_unavailable',
    });
    expect(server!.requests).toHaveLength(1);
  });

  it('stops promptly with cancelled when the signal aborts a slow call', async () => {
    const provider = await openai((_req, res) => {
      setTimeout(() => json(res, 200, completion({ content: 'late' })), 2000);
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await expect(
      invokeModel(provider.chatModel('gpt-4o-mini'), ask, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('lists models from /v1/models', async () => {
    const provider = await openai((_req, res) =>
      json(res, 200, { object: 'list', data: [{ id: 'qwen2.5-7b' }, { id: 'llama-3.1-8b' }] }),
    );
    expect(await provider.listModels()).toEqual(['qwen2.5-7b', 'llama-3.1-8b']);
  });
});
