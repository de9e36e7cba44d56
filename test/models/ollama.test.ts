import { HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { costOf, createOllamaProvider, invokeModel, usageFromMessage } from 'cadre/models';
import { defineTool, toLangChainTool } from 'cadre/tools';
import { json, ndjson, startWireServer, type ReceivedRequest } from '../fixtures/wire-server.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());

const at = '2026-11-24T12:00:00Z';
const chatLines = (message: Record<string, unknown>) => [
  { model: 'qwen3:8b', created_at: at, message: { role: 'assistant', content: '', ...message }, done: false },
  {
    model: 'qwen3:8b',
    created_at: at,
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 20,
    eval_count: 6,
  },
];

async function ollama(reply: Record<string, unknown>) {
  server = await startWireServer((req: ReceivedRequest, res) => {
    if (req.path === '/api/tags')
      return json(res, 200, { models: [{ name: 'qwen3:8b', model: 'qwen3:8b', size: 5e9, digest: 'x', details: {} }] });
    if (req.path === '/api/show') {
      return json(res, 200, {
        capabilities: ['completion', 'tools'],
        details: { family: 'qwen3', parameter_size: '8.2B' },
        model_info: { 'general.architecture': 'qwen3', 'qwen3.context_length': 40960 },
      });
    }
    if (req.path === '/api/ps') {
      return json(res, 200, {
        models: [
          {
            name: 'qwen3:8b',
            model: 'qwen3:8b',
            size: 6e9,
            size_vram: 5.5e9,
            digest: 'x',
            details: {},
            expires_at: at,
          },
        ],
      });
    }
    const lines = chatLines(reply);
    const body = req.body as { stream?: boolean };
    if (body.stream === false) return json(res, 200, { ...lines[1], message: lines[0]!.message });
    return ndjson(res, lines);
  });
  return createOllamaProvider({ baseURL: server.url });
}

const calc = toLangChainTool(
  defineTool({
    name: 'calculator',
    description: 'math',
    input: z.object({ expression: z.string() }),
    effects: 'read',
    run: () => '',
  }),
);

describe('Ollama provider (Ollama API wire format)', () => {
  it('chats through /api/chat with tools and parses tool calls and usage', async () => {
    const provider = await ollama({
      tool_calls: [{ function: { name: 'calculator', arguments: { expression: '6*7' } } }],
    });
    const model = provider.chatModel('qwen3:8b').bindTools!([calc]) as Runnable<BaseMessage[], AIMessage>;
    const message = await invokeModel(model, [new HumanMessage('6 times 7?')]);
    expect(message.tool_calls?.[0]).toMatchObject({ name: 'calculator', args: { expression: '6*7' } });
    expect(usageFromMessage(message)).toEqual({ inputTokens: 20, outputTokens: 6, totalTokens: 26 });
    expect(costOf({ model: 'qwen3:8b', location: 'local' }, usageFromMessage(message)).usd).toBe(0);
    const chat = server!.requests.find((r) => r.path === '/api/chat')!;
    const body = chat.body as { model: string; tools: { function: { name: string } }[] };
    expect(body.model).toBe('qwen3:8b');
    expect(body.tools[0]?.function.name).toBe('calculator');
  });

  it('streams text', async () => {
    const provider = await ollama({ content: 'forty-two' });
    const parts: string[] = [];
    for await (const part of await provider.chatModel('qwen3:8b').stream([new HumanMessage('?')]))
      parts.push(String(part.content));
    expect(parts.join('')).toBe('forty-two');
  });

  it('lists models (/api/tags), shows capabilities (/api/show) and what is loaded (/api/ps)', async () => {
    const provider = await ollama({ content: '' });
    expect(await provider.listModels()).toEqual(['qwen3:8b']);
    expect(await provider.show('qwen3:8b')).toEqual({
      capabilities: ['completion', 'tools'],
      contextLength: 40960,
      family: 'qwen3',
      parameterSize: '8.2B',
    });
    const [loaded] = await provider.ps();
    expect(loaded).toMatchObject({ name: 'qwen3:8b', vramBytes: 5.5e9 });
  });
});
