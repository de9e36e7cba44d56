import { HumanMessage, type AIMessageChunk } from '@langchain/core/messages';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createAnthropicProvider,
  createOllamaProvider,
  createOpenAICompatibleProvider,
  modelDeltas,
  usageFromMessage,
  type ModelProvider,
} from 'cadre/models';
import { defineTool, toLangChainTool } from 'cadre/tools';
import {
  startScriptedAnthropicServer,
  startScriptedOllamaServer,
  startScriptedOpenAIServer,
  type Behaviour,
  type ScriptedServer,
} from '../fixtures/model-wire.js';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const weather = toLangChainTool(
  defineTool({
    name: 'weather',
    description: 'weather',
    input: z.object({ city: z.string(), days: z.number() }),
    effects: 'read',
    run: () => '',
  }),
);

/** Each provider against its own wire-format server, and what Ollama cannot do (stream tool arguments). */
const providers: Array<{
  name: string;
  model: string;
  start: (script: Behaviour[]) => Promise<ModelProvider>;
  streamsToolArgs: boolean;
  /** Output tokens reported for `output` scripted: Anthropic's message_start counts one more, and LangChain adds it. */
  outputTokens: (output: number) => number;
}> = [
  {
    name: 'OpenAI-compatible (SSE chat.completion.chunk)',
    model: 'm',
    start: async (script) => {
      server = await startScriptedOpenAIServer({ script });
      return createOpenAICompatibleProvider({ baseURL: server.url, kind: 'local' });
    },
    streamsToolArgs: true,
    outputTokens: (n) => n,
  },
  {
    name: 'Ollama (NDJSON)',
    model: 'llama3.1',
    start: async (script) => {
      server = await startScriptedOllamaServer({ script });
      return createOllamaProvider({ baseURL: server.url });
    },
    streamsToolArgs: false,
    outputTokens: (n) => n,
  },
  {
    name: 'Anthropic (SSE message events)',
    model: 'claude-sonnet-4-5',
    start: async (script) => {
      server = await startScriptedAnthropicServer({ script });
      return createAnthropicProvider({ apiKey: 'sk-ant-test-0000000000000000', baseURL: server.url });
    },
    streamsToolArgs: true,
    outputTokens: (n) => n + 1,
  },
];

async function stream(provider: ModelProvider, model: string, tools = false) {
  const chat = provider.chatModel(model);
  const runnable = tools ? chat.bindTools!([weather]) : chat;
  const chunks: AIMessageChunk[] = [];
  const at: number[] = [];
  for await (const chunk of await runnable.stream([new HumanMessage('Weather in Oslo?')])) {
    chunks.push(chunk);
    at.push(performance.now());
  }
  return { chunks, at, whole: chunks.reduce((all, c) => all.concat(c)) };
}

const where = { taskId: 't1', agent: 'researcher', step: 1 };

describe.each(providers)('$name streams', ({ model, start, streamsToolArgs, outputTokens }) => {
  it('text in several chunks as the server sends them, with usage', async () => {
    const text = 'Mild and dry, around twelve degrees.';
    const provider = await start([{ kind: 'ok', text, usage: { input: 21, output: 9 }, chunkDelayMs: 15 }]);
    const { chunks, at, whole } = await stream(provider, model);
    const deltas = chunks.flatMap((c) => modelDeltas(c, where));
    expect(deltas.length).toBe(Math.ceil(text.length / 3));
    expect(deltas.map((d) => d.text).join('')).toBe(text);
    expect(whole.text).toBe(text);
    // The first piece arrived well before the server had written the last.
    const textAt = chunks.map((c, i) => (c.text ? at[i]! : undefined)).filter((t) => t !== undefined);
    expect(textAt.at(-1)! - textAt[0]!).toBeGreaterThanOrEqual(10 * 15);
    expect(usageFromMessage(whole)).toEqual({
      inputTokens: 21,
      outputTokens: outputTokens(9),
      totalTokens: 21 + outputTokens(9),
    });
    const request = server!.requests.find((r) => r.method === 'POST')!.body as Record<string, unknown>;
    expect(request.stream).toBe(true);
  });

  it('text and a tool call whose argument deltas assemble to the call', async () => {
    const args = { city: 'Oslo', days: 3 };
    const provider = await start([
      { kind: 'ok', text: 'Checking.', toolCalls: [{ name: 'weather', args }], usage: { input: 30, output: 12 } },
    ]);
    const { chunks, whole } = await stream(provider, model, true);
    expect(whole.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args })]);
    const all = chunks.flatMap((c) => modelDeltas(c, where));
    // With tools bound Anthropic's content is a list of blocks; the deltas carry its text all the same.
    expect(all.map((d) => d.text ?? '').join('')).toBe('Checking.');
    const deltas = all.filter((d) => d.toolCall);
    expect(deltas[0]!.toolCall).toMatchObject({ id: whole.tool_calls![0]!.id, name: 'weather' });
    expect(deltas.map((d) => d.toolCall!.argsDelta).join('')).toBe(JSON.stringify(args));
    // OpenAI and Anthropic stream the argument JSON in pieces; Ollama sends a call whole.
    const pieces = deltas.filter((d) => d.toolCall!.argsDelta !== '');
    if (streamsToolArgs) expect(pieces.length).toBe(Math.ceil(JSON.stringify(args).length / 3));
    else expect(pieces.length).toBe(1);
    expect(usageFromMessage(whole).inputTokens).toBe(30);
  });
});

describe('streaming requests on the wire', () => {
  it('OpenAI-compatible: asks for the usage chunk with stream_options.include_usage', async () => {
    const provider = await providers[0]!.start([{ kind: 'ok', text: 'hi' }]);
    await stream(provider, 'm');
    expect(server!.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });
});
