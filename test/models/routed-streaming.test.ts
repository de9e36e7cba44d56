import { HumanMessage, type AIMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTool, toLangChainTool } from '../../tools/index.js';
import { loadConfig, type CadreConfigInput } from '../../src/core/index.js';
import {
  createRouterFromConfig,
  modelDeltas,
  routedReplyInfo,
  usageFromMessage,
  type Reroute,
  type RouteDecision,
} from '../../src/models/index.js';
import {
  startScriptedAnthropicServer,
  startScriptedOllamaServer,
  startScriptedOpenAIServer,
  type ScriptOptions,
  type ScriptedServer,
} from '../fixtures/model-wire.js';

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const keep = (server: ScriptedServer) => (servers.push(server), server);
const ollamaServer = async (options: ScriptOptions) =>
  keep(await startScriptedOllamaServer({ models: ['llama3.1'], ...options }));
const vllmServer = async (options: ScriptOptions) =>
  keep(await startScriptedOpenAIServer({ models: [{ id: 'qwen' }], ...options }));
const cloudServer = async (options: ScriptOptions) =>
  keep(await startScriptedOpenAIServer({ models: [{ id: 'gpt-4o-mini' }], ...options }));
const anthropicServer = async (options: ScriptOptions) =>
  keep(await startScriptedAnthropicServer({ models: ['claude-sonnet-4-5'], ...options }));

// Capabilities given in full, so building the pool probes nothing.
const known = { tools: true, json: true, contextWindow: 32_768 };
const ollamaModel = { provider: 'ollama', model: 'llama3.1', capabilities: known } as const;
const vllmModel = { provider: 'local', model: 'qwen', capabilities: known } as const;
const cloudModel = { provider: 'openai', model: 'gpt-4o-mini' } as const;
const anthropicModel = { provider: 'anthropic', model: 'claude-sonnet-4-5', capabilities: known } as const;

async function routerFor(options: {
  models: CadreConfigInput['models'];
  ollama?: ScriptedServer;
  vllm?: ScriptedServer;
  cloud?: ScriptedServer;
  anthropic?: ScriptedServer;
}) {
  const config = loadConfig(
    {
      models: options.models,
      modelOrder: ['ollama', 'local', 'anthropic', 'openai'],
      ...(options.ollama ? { ollamaHost: options.ollama.url } : {}),
      ...(options.vllm ? { localBaseUrl: options.vllm.url } : {}),
      ...(options.cloud ? { openaiBaseUrl: options.cloud.url, openaiApiKey: 'sk-test' } : {}),
      ...(options.anthropic
        ? { anthropicBaseUrl: options.anthropic.url, anthropicApiKey: 'sk-ant-test-0000000000000000' }
        : {}),
    },
    {},
  );
  return createRouterFromConfig(config);
}

const ask = [new HumanMessage('Summarise the release notes')];

async function streamed(decision: RouteDecision, messages: BaseMessage[] = ask) {
  const chunks: AIMessageChunk[] = [];
  for await (const chunk of await decision.model.stream(messages)) chunks.push(chunk);
  return { chunks, texts: chunks.map((c) => c.text).filter(Boolean), whole: chunks.reduce((a, c) => a.concat(c)) };
}

describe('a routed model streams over real HTTP', () => {
  it('streams the chosen model in several chunks; the last says who answered and the cost, as invoke does', async () => {
    const answer = { kind: 'ok', text: 'Three fixes and one feature.', usage: { input: 1000, output: 200 } } as const;
    const cloud = await cloudServer({ script: [answer, answer] });
    const router = await routerFor({ models: [cloudModel], cloud });
    const { texts, whole } = await streamed(await router.select({}));
    expect(texts.length).toBeGreaterThan(5);
    expect(texts.join('')).toBe('Three fixes and one feature.');
    const invoked = (await (await router.select({})).model.invoke(ask)) as AIMessage;
    expect(usageFromMessage(whole)).toEqual(usageFromMessage(invoked));
    expect(usageFromMessage(whole)).toEqual({ inputTokens: 1000, outputTokens: 200, totalTokens: 1200 });
    expect(routedReplyInfo(whole)).toEqual(routedReplyInfo(invoked));
    expect(routedReplyInfo(whole)).toMatchObject({ model: 'openai:gpt-4o-mini', location: 'cloud' });
    expect(routedReplyInfo(whole)!.costUsd).toBeGreaterThan(0);
  });

  it('streams a tool call through the model the tools were bound on, its argument deltas assembling to the call', async () => {
    const args = { city: 'Oslo', days: 3 };
    const vllm = await vllmServer({ fallback: { kind: 'ok', toolCalls: [{ name: 'weather', args }] } });
    const router = await routerFor({ models: [vllmModel], vllm });
    const weather = toLangChainTool(
      defineTool({
        name: 'weather',
        description: 'weather',
        input: z.object({ city: z.string(), days: z.number() }),
        effects: 'read',
        run: () => '',
      }),
    );
    const bound = (await router.select({})).model.bindTools!([weather]);
    const chunks: AIMessageChunk[] = [];
    for await (const chunk of await bound.stream(ask)) chunks.push(chunk);
    const deltas = chunks.flatMap((c) => modelDeltas(c, { taskId: 't', agent: 'a', step: 1 }));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.toolCall?.argsDelta ?? '').join('')).toBe(JSON.stringify(args));
    expect(chunks.reduce((a, c) => a.concat(c)).tool_calls).toEqual([
      expect.objectContaining({ name: 'weather', args }),
    ]);
    expect((vllm.requests.at(-1)!.body as { tools?: unknown[] }).tools).toHaveLength(1);
  });

  const failsBeforeFirstToken: Array<{ name: string; first: 'ollama' | 'vllm' | 'anthropic'; options: ScriptOptions }> =
    [
      { name: 'Ollama answers HTTP 500', first: 'ollama', options: { fallback: { kind: 'status', status: 500 } } },
      {
        name: 'vLLM starts a 200 stream and drops the connection before any chunk',
        first: 'vllm',
        options: { fallback: { kind: 'ok', text: 'never seen', dropAfterChunks: 0 } },
      },
      {
        name: 'Anthropic sends message_start and a ping, then drops the connection before any text',
        first: 'anthropic',
        options: { fallback: { kind: 'ok', text: 'never seen', dropAfterChunks: 2 } },
      },
    ];

  it.each(failsBeforeFirstToken)(
    'falls back to the next model when the first fails before its first token: $name',
    async ({ first, options }) => {
      const firstServer =
        first === 'ollama'
          ? await ollamaServer(options)
          : first === 'vllm'
            ? await vllmServer(options)
            : await anthropicServer(options);
      const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud', chunkDelayMs: 5 } });
      const firstModel = { ollama: ollamaModel, vllm: vllmModel, anthropic: anthropicModel }[first];
      const router = await routerFor({ models: [firstModel, cloudModel], [first]: firstServer, cloud });
      const reroutes: Reroute[] = [];
      const decision = await router.select({ onReroute: (r) => reroutes.push(r) });
      expect(decision.ref.provider).toBe(firstModel.provider);

      const { texts, whole } = await streamed(decision);
      expect(texts.join('')).toBe('from the cloud');
      expect(texts.length).toBeGreaterThan(1);
      expect(routedReplyInfo(whole)?.model).toBe('openai:gpt-4o-mini');
      expect(firstServer.chatCalls()).toBe(1);
      expect(cloud.chatCalls()).toBe(1);
      expect(reroutes).toEqual([expect.objectContaining({ kind: 'fallback', to: decision.fallbacks![0] })]);
    },
  );

  it('ends the stream with the error once a token has passed, and does not fall back', async () => {
    const vllm = await vllmServer({ fallback: { kind: 'ok', text: 'abcdefghijkl', dropAfterChunks: 2 } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    const router = await routerFor({ models: [vllmModel, cloudModel], vllm, cloud });
    const reroutes: Reroute[] = [];
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of await (await router.select({ onReroute: (r) => reroutes.push(r) })).model.stream(ask))
        seen.push(chunk.text);
    })();
    await expect(reading).rejects.toMatchObject({ code: 'provider_error' });
    expect(seen.join('')).toBe('abcdef');
    expect(cloud.chatCalls()).toBe(0);
    expect(reroutes).toEqual([]);
  });

  it('ends the call and frees the lane when the reader stops early', async () => {
    const vllm = await vllmServer({ fallback: { kind: 'ok', text: 'x'.repeat(300), chunkDelayMs: 20 } });
    const router = await routerFor({ models: [vllmModel], vllm });
    const started = performance.now();
    for await (const chunk of await (await router.select({})).model.stream(ask)) {
      expect(chunk.text).toBe('xxx');
      break;
    }
    // The whole stream would take 100 chunks x 20 ms.
    await vi.waitFor(() => expect(router.lane('local:qwen').inFlight).toBe(0), { timeout: 1000, interval: 10 });
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('moves a conversation that shows personal data to a local model before streaming', async () => {
    const ollama = await ollamaServer({ fallback: { kind: 'ok', text: 'kept local' } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    const router = await routerFor({ models: [ollamaModel, cloudModel], ollama, cloud });
    const reroutes: Reroute[] = [];
    const decision = await router.select({
      text: 'Draft a reply',
      preferred: 'openai:gpt-4o-mini',
      onReroute: (r) => reroutes.push(r),
    });
    expect(decision.ref.provider).toBe('openai');
    const { texts, whole } = await streamed(decision, [
      new HumanMessage('Draft a reply'),
      new HumanMessage('Send it to jane.doe@example.com'),
    ]);
    expect(texts.join('')).toBe('kept local');
    expect(routedReplyInfo(whole)?.location).toBe('local');
    expect(cloud.chatCalls()).toBe(0);
    expect(reroutes.map((r) => r.kind)).toEqual(['privacy']);
  });

  it("serves LangChain's content-block stream events from the same stream", async () => {
    const cloud = await cloudServer({
      fallback: { kind: 'ok', text: 'block by block', usage: { input: 4, output: 3 } },
    });
    const router = await routerFor({ models: [cloudModel], cloud });
    const stream = (await router.select({})).model.streamEvents(ask);
    const kinds: string[] = [];
    for await (const event of stream) kinds.push(event.event);
    const message = await stream;
    expect(kinds.filter((k) => k === 'content-block-delta').length).toBeGreaterThan(1);
    expect(message.text).toBe('block by block');
    expect(usageFromMessage(message)).toMatchObject({ inputTokens: 4, outputTokens: 3 });
  });
});
