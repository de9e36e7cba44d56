import { HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createOllamaProvider, createOpenAICompatibleProvider, invokeModel, usageFromMessage } from 'cadre/models';
import { defineTool, toLangChainTool } from 'cadre/tools';
import { startScriptedOllamaServer, startScriptedOpenAIServer, type ScriptedServer } from '../fixtures/model-wire.js';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

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
const noRetry = { retry: { retries: 0 } };

async function openai(options: Parameters<typeof startScriptedOpenAIServer>[0]) {
  server = await startScriptedOpenAIServer(options);
  return createOpenAICompatibleProvider({ baseURL: server.url, kind: 'local' });
}

describe('scripted OpenAI-compatible server', () => {
  it('answers chat requests in script order, then with the fallback', async () => {
    const provider = await openai({
      script: [
        { kind: 'ok', text: 'first', usage: { input: 3, output: 2 } },
        { kind: 'ok', toolCalls: [{ name: 'weather', args: { city: 'Oslo' } }] },
      ],
    });
    const first = await provider.chatModel('m').invoke(ask);
    expect(first.content).toBe('first');
    expect(usageFromMessage(first)).toEqual({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    const second = await (provider.chatModel('m').bindTools!([weather]) as Runnable<BaseMessage[], AIMessage>).invoke(
      ask,
    );
    expect(second.tool_calls?.[0]).toMatchObject({ name: 'weather', args: { city: 'Oslo' } });
    expect((await provider.chatModel('m').invoke(ask)).content).toBe('done');
    expect(server!.chatCalls()).toBe(3);
  });

  it('streams SSE with tool calls and a final usage chunk when asked to stream', async () => {
    const provider = await openai({
      script: [
        {
          kind: 'ok',
          text: 'streamed',
          toolCalls: [{ name: 'weather', args: { city: 'Lima' } }],
          usage: { input: 7, output: 3 },
        },
      ],
    });
    const pieces: string[] = [];
    let full: AIMessage | undefined;
    for await (const part of await provider.chatModel('m').bindTools!([weather]).stream(ask)) {
      pieces.push(String(part.content));
      full = full ? (full as never as { concat(x: unknown): AIMessage }).concat(part) : (part as never as AIMessage);
    }
    expect(pieces.filter(Boolean).length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('streamed');
    expect(full?.tool_calls?.[0]).toMatchObject({ name: 'weather', args: { city: 'Lima' } });
    expect(usageFromMessage(full!)).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 });
    expect((server!.requests.find((r) => r.path === '/v1/chat/completions')?.body as { stream?: boolean }).stream).toBe(
      true,
    );
  });

  it('lists its models and serves vLLM metrics with the queue depth set', async () => {
    const provider = await openai({ models: [{ id: 'qwen' }, { id: 'llama' }] });
    expect(await provider.listModels()).toEqual(['qwen', 'llama']);
    server!.setQueueDepth(4);
    const text = await (await fetch(`${server!.origin}/metrics`)).text();
    expect(text).toContain('vllm:num_requests_waiting{engine="0",model_name="qwen"} 4.0');
    expect(text).toContain('vllm:num_requests_waiting{engine="0",model_name="llama"} 4.0');
  });

  it('surfaces a scripted 429 with Retry-After as rate_limited with the wait in ms', async () => {
    const provider = await openai({ script: [{ kind: 'status', status: 429, retryAfter: '1' }] });
    await expect(invokeModel(provider.chatModel('m'), ask, noRetry)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retryAfterMs: 1000, status: 429 },
    });
    expect(server!.chatCalls()).toBe(1);
  });

  it('surfaces a dropped connection as provider_error', async () => {
    const provider = await openai({ script: [{ kind: 'drop' }] });
    await expect(invokeModel(provider.chatModel('m'), ask, noRetry)).rejects.toMatchObject({ code: 'provider_error' });
    expect(server!.chatCalls()).toBe(1);
  });

  it('never answers a hanging request, so only the caller can end it', async () => {
    const provider = await openai({ script: [{ kind: 'hang' }] });
    const controller = new AbortController();
    const call = invokeModel(provider.chatModel('m'), ask, { ...noRetry, signal: controller.signal });
    await vi.waitFor(() => expect(server!.chatCalls()).toBe(1));
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('scripted Ollama server', () => {
  async function ollama(options: Parameters<typeof startScriptedOllamaServer>[0]) {
    server = await startScriptedOllamaServer(options);
    return createOllamaProvider({ baseURL: server.url });
  }

  it('answers ChatOllama with scripted text, tool calls and usage over NDJSON', async () => {
    const provider = await ollama({
      script: [
        { kind: 'ok', text: 'hello', usage: { input: 20, output: 6 } },
        { kind: 'ok', toolCalls: [{ name: 'weather', args: { city: 'Rome' } }] },
      ],
    });
    const first = await provider.chatModel('llama3.1').invoke(ask);
    expect(first.content).toBe('hello');
    expect(usageFromMessage(first)).toEqual({ inputTokens: 20, outputTokens: 6, totalTokens: 26 });
    const second = await (
      provider.chatModel('llama3.1').bindTools!([weather]) as Runnable<BaseMessage[], AIMessage>
    ).invoke(ask);
    expect(second.tool_calls?.[0]).toMatchObject({ name: 'weather', args: { city: 'Rome' } });
    expect(server!.chatCalls()).toBe(2);
  });

  it('answers a non-streaming request with one JSON body', async () => {
    await ollama({ script: [{ kind: 'ok', text: 'whole' }] });
    const reply = await fetch(`${server!.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.1', messages: [], stream: false }),
    });
    expect(reply.headers.get('content-type')).toContain('application/json');
    expect(await reply.json()).toMatchObject({
      model: 'llama3.1',
      message: { role: 'assistant', content: 'whole' },
      done: true,
      done_reason: 'stop',
      eval_count: 5,
    });
  });

  it('lists, shows and reports loaded models with the queue depth set', async () => {
    const provider = await ollama({
      models: ['llama3.1', 'qwen3:8b'],
      capabilities: { 'qwen3:8b': ['completion'] },
      contextLength: 8192,
      loaded: ['llama3.1'],
    });
    expect(await provider.listModels()).toEqual(['llama3.1', 'qwen3:8b']);
    expect(await provider.show('qwen3:8b')).toMatchObject({ capabilities: ['completion'], contextLength: 8192 });
    expect(await provider.show('llama3.1')).toMatchObject({ capabilities: ['completion', 'tools'] });
    expect((await provider.ps()).map((m) => m.name)).toEqual(['llama3.1']);
    server!.setQueueDepth(3);
    expect(await (await fetch(`${server!.url}/api/ps`)).json()).toMatchObject({
      models: [{ name: 'llama3.1', queue_depth: 3 }],
    });
  });

  it('surfaces a scripted 503 as provider_error', async () => {
    const provider = await ollama({ script: [{ kind: 'status', status: 503 }] });
    await expect(invokeModel(provider.chatModel('llama3.1'), ask, noRetry)).rejects.toMatchObject({
      code: 'provider_error',
      details: { status: 503 },
    });
  });
});
