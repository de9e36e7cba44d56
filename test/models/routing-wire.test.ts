import { HumanMessage, type AIMessage } from '@langchain/core/messages';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { loadConfig, type CadreConfigInput } from '../../src/core/index.js';
import {
  createRouterFromConfig,
  invokeModel,
  routedReplyInfo,
  type Reroute,
  type RouteDecision,
  type RoutingConfigInput,
} from '../../src/models/index.js';
import {
  startScriptedOllamaServer,
  startScriptedOpenAIServer,
  type ScriptOptions,
  type ScriptedServer,
} from '../fixtures/model-wire.js';

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Chat requests in the order they reached any server, with the arrival time. */
let arrivals: Array<{ server: string; at: number }> = [];
afterEach(() => {
  arrivals = [];
});

const chatPaths = new Set(['/api/chat', '/v1/chat/completions']);

// The fixture records requests but not when they came; the arrival is when the server pushes one.
function track(server: ScriptedServer, name: string): ScriptedServer {
  const push = server.requests.push.bind(server.requests);
  server.requests.push = (...items) => {
    for (const item of items) if (chatPaths.has(item.path)) arrivals.push({ server: name, at: performance.now() });
    return push(...items);
  };
  servers.push(server);
  return server;
}

const ollamaServer = async (options: ScriptOptions = {}) =>
  track(await startScriptedOllamaServer({ models: ['llama3.1'], ...options }), 'ollama');
const vllmServer = async (options: ScriptOptions = {}) =>
  track(await startScriptedOpenAIServer({ models: [{ id: 'qwen' }], ...options }), 'vllm');
const cloudServer = async (options: ScriptOptions = {}) =>
  track(await startScriptedOpenAIServer({ models: [{ id: 'gpt-4o-mini' }], ...options }), 'cloud');

// Capabilities given in full, so building the pool probes nothing.
const known = { tools: true, json: true, contextWindow: 32_768 };
const ollamaModel = { provider: 'ollama', model: 'llama3.1', capabilities: known } as const;
const vllmModel = { provider: 'local', model: 'qwen', capabilities: known } as const;
const cloudModel = { provider: 'openai', model: 'gpt-4o-mini' } as const;

async function routerFor(options: {
  models: CadreConfigInput['models'];
  routing?: RoutingConfigInput;
  ollama?: ScriptedServer;
  vllm?: ScriptedServer;
  cloud?: ScriptedServer;
}) {
  const config = loadConfig(
    {
      models: options.models,
      ...(options.routing ? { routing: options.routing as Record<string, unknown> } : {}),
      modelOrder: ['ollama', 'local', 'openai'],
      ...(options.ollama ? { ollamaHost: options.ollama.url } : {}),
      ...(options.vllm ? { localBaseUrl: options.vllm.url } : {}),
      ...(options.cloud ? { openaiBaseUrl: options.cloud.url, openaiApiKey: 'sk-test' } : {}),
    },
    {},
  );
  return createRouterFromConfig(config);
}

const messages = [new HumanMessage('Summarise the release notes')];
const once = { retry: { retries: 0 } };
const call = (
  decision: RouteDecision,
  retry: { retries?: number; maxDelayMs?: number; baseDelayMs?: number } = { retries: 0 },
) => invokeModel(decision.model, messages, { retry }) as Promise<AIMessage>;
const order = () => arrivals.map((a) => a.server);

describe('routing over real HTTP', () => {
  it('falls back from a failing Ollama to the local vLLM server, then to the cloud, in pool order', async () => {
    const ollama = await ollamaServer({ fallback: { kind: 'status', status: 500 } });
    const vllm = await vllmServer({ fallback: { kind: 'status', status: 500 } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    const router = await routerFor({ models: [ollamaModel, vllmModel, cloudModel], ollama, vllm, cloud });
    const reroutes: Reroute[] = [];
    const decision = await router.select({ onReroute: (r) => reroutes.push(r) });
    expect([decision.ref, ...decision.fallbacks!].map((r) => r.provider)).toEqual(['ollama', 'local', 'openai']);

    const reply = await call(decision);
    expect(reply.content).toBe('from the cloud');
    expect(routedReplyInfo(reply)).toMatchObject({ model: 'openai:gpt-4o-mini', location: 'cloud' });
    expect(order()).toEqual(['ollama', 'vllm', 'cloud']);
    expect(reroutes.map((r) => `${r.from.provider}->${r.to.provider}`)).toEqual(['ollama->local', 'local->openai']);
    expect(reroutes.every((r) => r.reason.includes('provider_error'))).toBe(true);
  });

  it('answers from the first model when it is healthy, sending nothing to the fallbacks', async () => {
    const ollama = await ollamaServer({ fallback: { kind: 'ok', text: 'local answer' } });
    const cloud = await cloudServer();
    const router = await routerFor({ models: [ollamaModel, cloudModel], ollama, cloud });
    const reply = await call(await router.select({}));
    expect(routedReplyInfo(reply)).toMatchObject({ model: 'ollama:llama3.1', location: 'local', costUsd: 0 });
    expect(order()).toEqual(['ollama']);
  });

  it('stops sending calls to a model once its breaker opens, and uses it again after a successful trial', async () => {
    const failures = 2;
    const ollama = await ollamaServer({
      script: Array.from({ length: failures }, () => ({ kind: 'status', status: 500 }) as const),
      fallback: { kind: 'ok', text: 'recovered' },
    });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    // Only Date is faked (the breaker's clock), so the breaker cannot half-open while the test is slow.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const router = await routerFor({
      models: [ollamaModel, cloudModel],
      routing: { breaker: { failures, halfOpenAfterMs: 30_000 } },
      ollama,
      cloud,
    });
    const decision = await router.select({});
    for (let i = 0; i < failures; i++) expect(routedReplyInfo(await call(decision))?.model).toBe('openai:gpt-4o-mini');
    expect(ollama.chatCalls()).toBe(failures);
    expect(router.lane('ollama:llama3.1').health).toBe('open');

    // The same decision skips the open model; a fresh one puts it last.
    expect(routedReplyInfo(await call(decision))?.model).toBe('openai:gpt-4o-mini');
    const fresh = await router.select({});
    expect(fresh.ref.provider).toBe('openai');
    expect(routedReplyInfo(await call(fresh))?.model).toBe('openai:gpt-4o-mini');
    expect(ollama.chatCalls()).toBe(failures);
    expect(order()).toEqual(['ollama', 'cloud', 'ollama', 'cloud', 'cloud', 'cloud']);

    vi.setSystemTime(Date.now() + 29_000);
    expect(router.lane('ollama:llama3.1').health).toBe('open');
    vi.setSystemTime(Date.now() + 1_000);
    expect(router.lane('ollama:llama3.1').health).toBe('trial');
    const trial = await router.select({});
    expect(trial.ref.provider).toBe('ollama');
    const reply = await call(trial);
    expect(reply.content).toBe('recovered');
    expect(ollama.chatCalls()).toBe(failures + 1);
    expect(router.lane('ollama:llama3.1').health).toBe('closed');
    expect(routedReplyInfo(await call(await router.select({})))?.model).toBe('ollama:llama3.1');
    expect(cloud.chatCalls()).toBe(4);
  });

  it('spills to the cloud while the vLLM server reports a deep queue, but keeps a sensitive request local', async () => {
    const vllm = await vllmServer({ fallback: { kind: 'ok', text: 'local answer' } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'cloud answer' } });
    vllm.setQueueDepth(5);
    const router = await routerFor({ models: [vllmModel, cloudModel], routing: { spillQueueDepth: 5 }, vllm, cloud });
    // The load monitor reads /metrics in the background once asked; wait for its figure to land.
    await router.select({});
    await vi.waitFor(() => expect(router.plan({}).chain[0]!.id).toBe('openai:gpt-4o-mini'), {
      timeout: 5000,
      interval: 20,
    });
    expect(vllm.requests.some((r) => r.path === '/metrics')).toBe(true);

    const spilled = await call(await router.select({}));
    expect(routedReplyInfo(spilled)).toMatchObject({ model: 'openai:gpt-4o-mini', location: 'cloud' });
    const sensitive = await router.select({ privacy: 'sensitive' });
    expect(sensitive.fallbacks).toEqual([]);
    expect(routedReplyInfo(await call(sensitive))).toMatchObject({ model: 'local:qwen', location: 'local' });
    expect(order()).toEqual(['cloud', 'vllm']);

    // Once the queue drains, the next refresh brings the work back.
    vllm.setQueueDepth(4);
    await vi.waitFor(() => expect(router.plan({}).chain[0]!.id).toBe('local:qwen'), { timeout: 5000, interval: 50 });
  });

  it('waits as long as a 429 Retry-After asks before retrying', async () => {
    const cloud = await cloudServer({
      script: [{ kind: 'status', status: 429, retryAfter: '1' }],
      fallback: { kind: 'ok', text: 'after the wait' },
    });
    const router = await routerFor({ models: [cloudModel], cloud });
    const reply = await call(await router.select({}), { retries: 2, baseDelayMs: 10 });
    expect(reply.content).toBe('after the wait');
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('caps a long Retry-After at maxDelayMs', async () => {
    const cloud = await cloudServer({
      script: [{ kind: 'status', status: 429, retryAfter: '30' }],
      fallback: { kind: 'ok', text: 'soon' },
    });
    const router = await routerFor({ models: [cloudModel], cloud });
    const reply = await call(await router.select({}), { retries: 2, maxDelayMs: 200 });
    expect(reply.content).toBe('soon');
    expect(arrivals).toHaveLength(2);
    // A bound on the behaviour (200 ms asked, 30 s refused), not a speed measurement.
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeLessThan(10_000);
  });

  it('falls back when the connection drops without a reply', async () => {
    const ollama = await ollamaServer({ fallback: { kind: 'drop' } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    const router = await routerFor({ models: [ollamaModel, cloudModel], ollama, cloud });
    const reroutes: Reroute[] = [];
    const reply = await call(await router.select({ onReroute: (r) => reroutes.push(r) }));
    expect(routedReplyInfo(reply)?.model).toBe('openai:gpt-4o-mini');
    expect(order()).toEqual(['ollama', 'cloud']);
    expect(reroutes).toEqual([
      expect.objectContaining({ kind: 'fallback', reason: expect.stringContaining('(provider_error)') }),
    ]);
  });

  it('gives up on a model that hangs past its timeoutMs and falls back', async () => {
    const vllm = await vllmServer({ fallback: { kind: 'hang' } });
    const cloud = await cloudServer({ fallback: { kind: 'ok', text: 'from the cloud' } });
    const router = await routerFor({ models: [{ ...vllmModel, timeoutMs: 300 }, cloudModel], vllm, cloud });
    const reroutes: Reroute[] = [];
    const reply = await call(await router.select({ onReroute: (r) => reroutes.push(r) }));
    expect(routedReplyInfo(reply)?.model).toBe('openai:gpt-4o-mini');
    expect(order()).toEqual(['vllm', 'cloud']);
    expect(reroutes).toEqual([
      expect.objectContaining({ kind: 'fallback', reason: expect.stringContaining('(timeout)') }),
    ]);
  });

  it('reports timeout when the only model hangs past its timeoutMs', async () => {
    const vllm = await vllmServer({ fallback: { kind: 'hang' } });
    const router = await routerFor({ models: [{ ...vllmModel, timeoutMs: 300 }], vllm });
    await expect(invokeModel((await router.select({})).model, messages, once)).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(vllm.chatCalls()).toBe(1);
  });

  it('asks Ollama to hold the context window configured for a model, and no window it only probed', async () => {
    const ollama = await ollamaServer({ fallback: { kind: 'ok', text: 'ok' } });
    const configured = await routerFor({ models: [ollamaModel], ollama });
    const decision = await configured.select({});
    expect(decision.contextWindow).toBe(32_768);
    await call(decision);
    const probed = await routerFor({ models: [{ provider: 'ollama', model: 'llama3.1' }], ollama });
    await call(await probed.select({}));
    const sent = ollama.requests
      .filter((r) => r.path === '/api/chat')
      .map((r) => (r.body as { options?: { num_ctx?: number } }).options?.num_ctx);
    expect(sent).toEqual([32_768, undefined]);
  });
});
