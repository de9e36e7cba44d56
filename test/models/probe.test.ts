import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCapabilityCache,
  createOpenAICompatibleProvider,
  probeModel,
  withProbedCapabilities,
} from 'cadre/models';
import { ModelEntrySchema, toPoolModel, type ModelEntryInput } from '../../src/models/pool.js';
import { liveProbe, probeOllamaModel, probeOpenAICompatibleModels } from '../../src/models/probe.js';
import { json, startWireServer, type WireHandler } from '../fixtures/wire-server.js';
import { completion, toolCall } from '../fixtures/openai-wire.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());

async function serve(handler: WireHandler) {
  server = await startWireServer(handler);
  return server;
}

const pool = (entry: ModelEntryInput) => toPoolModel(ModelEntrySchema.parse(entry));

const ollamaShow: WireHandler = (req, res) => {
  const { model } = req.body as { model: string };
  if (model === 'llama3.1:8b') {
    return json(res, 200, {
      capabilities: ['completion', 'tools'],
      model_info: { 'general.architecture': 'llama', 'llama.context_length': 8192 },
    });
  }
  if (model === 'gemma:2b')
    return json(res, 200, { capabilities: ['completion'], model_info: { 'gemma.context_length': 8192 } });
  return json(res, 404, { error: `model '${model}' not found` });
};

describe('probeOllamaModel (Ollama /api/show)', () => {
  it('reads tools, vision and the context window from capabilities and model_info', async () => {
    const { url, requests } = await serve(ollamaShow);
    const result = await probeOllamaModel({ baseURL: url, model: 'llama3.1:8b' });
    expect(result.capabilities).toEqual({ tools: true, vision: false, json: true, contextWindow: 8192 });
    expect(result.source).toBe('ollama');
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/api/show', body: { model: 'llama3.1:8b' } });
  });

  it('reports no tools for a model whose capabilities leave them out', async () => {
    const { url } = await serve(ollamaShow);
    expect((await probeOllamaModel({ baseURL: url, model: 'gemma:2b' })).capabilities.tools).toBe(false);
  });

  it('throws model_unavailable for a model that is not pulled (404)', async () => {
    const { url } = await serve(ollamaShow);
    await expect(probeOllamaModel({ baseURL: url, model: 'missing' })).rejects.toMatchObject({
      code: 'model_unavailable',
    });
  });
});

describe('probeOpenAICompatibleModels (GET /models)', () => {
  it('reads the context window from vLLM max_model_len and llama.cpp meta.n_ctx_train, and listed capabilities', async () => {
    const { url, requests } = await serve((_req, res) =>
      json(res, 200, {
        object: 'list',
        data: [
          { id: 'Qwen/Qwen2.5-7B-Instruct', object: 'model', owned_by: 'vllm', max_model_len: 32768 },
          { id: 'llama-3.2-3b.gguf', object: 'model', meta: { n_ctx_train: 131072, n_params: 3.2e9 } },
          { id: 'tool-model', object: 'model', context_length: 4096, capabilities: ['completion', 'tools'] },
        ],
      }),
    );
    const found = await probeOpenAICompatibleModels({ baseURL: `${url}/v1`, apiKey: 'secret' });
    expect(found.get('Qwen/Qwen2.5-7B-Instruct')).toEqual({ contextWindow: 32768 });
    expect(found.get('llama-3.2-3b.gguf')).toEqual({ contextWindow: 131072 });
    expect(found.get('tool-model')).toEqual({ contextWindow: 4096, tools: true, json: false, vision: false });
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(requests[0]?.headers.authorization).toBe('Bearer secret');
  });

  it('probeModel of a local model the server does not list is model_unavailable', async () => {
    const { url } = await serve((_req, res) => json(res, 200, { data: [{ id: 'other', max_model_len: 2048 }] }));
    await expect(
      probeModel(pool({ provider: 'local', model: 'absent' }), { baseURL: `${url}/v1` }),
    ).rejects.toMatchObject({ code: 'model_unavailable' });
  });
});

describe('probeModel with a capability cache', () => {
  it('answers from the cache without a request inside the TTL, and probes again after it', async () => {
    const { url, requests } = await serve(ollamaShow);
    let clock = 1_000_000;
    const now = () => clock;
    const db = new Database(':memory:');
    const cache = createCapabilityCache({ db, ttlMs: 60_000, now });
    const model = pool({ provider: 'ollama', model: 'llama3.1:8b' });

    const first = await probeModel(model, { baseURL: url, cache, now });
    expect(first).toMatchObject({
      cached: false,
      source: 'ollama',
      probedAt: 1_000_000,
      capabilities: { tools: true, contextWindow: 8192 },
    });
    expect(requests).toHaveLength(1);

    clock += 59_000;
    const second = await probeModel(model, { baseURL: url, cache, now });
    expect(second).toMatchObject({ cached: true, probedAt: 1_000_000, capabilities: first.capabilities });
    expect(requests).toHaveLength(1);

    clock += 2_000;
    const third = await probeModel(model, { baseURL: url, cache, now });
    expect(third).toMatchObject({ cached: false, probedAt: 1_061_000 });
    expect(requests).toHaveLength(2);
    db.close();
  });

  it('reads a row with bad JSON as missing instead of throwing', () => {
    const db = new Database(':memory:');
    const cache = createCapabilityCache({ db, ttlMs: 60_000, now: () => 10 });
    cache.set('k', { capabilities: { tools: true }, source: 'ollama', probedAt: 5 });
    expect(cache.get('k')).toEqual({ capabilities: { tools: true }, source: 'ollama', probedAt: 5 });
    db.prepare("UPDATE model_capabilities SET capabilities = '{not json' WHERE key = 'k'").run();
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', { capabilities: {}, source: 'ollama', probedAt: 5 });
    cache.clear();
    expect(cache.get('k')).toBeUndefined();
    db.close();
  });
});

describe('withProbedCapabilities', () => {
  it('keeps what the config states and fills the unknown capabilities from the probe', () => {
    const model = pool({
      provider: 'ollama',
      model: 'llama3.1:8b',
      capabilities: { tools: false, contextWindow: 4096 },
    });
    const merged = withProbedCapabilities(model, { tools: true, json: true, vision: false, contextWindow: 8192 });
    expect(merged.capabilities).toEqual({ tools: false, contextWindow: 4096, json: true, vision: false });
    expect(merged.id).toBe(model.id);
  });
});

describe('liveProbe (OpenAI chat-completions wire format)', () => {
  // Requests with bound tools get `toolReply`; the JSON check (no tools) gets the object it asks for.
  async function chatModel(toolReply: Record<string, unknown>) {
    const { url, requests } = await serve((req, res) => {
      const body = req.body as { tools?: unknown[] };
      return json(res, 200, completion(body.tools ? toolReply : { content: '{"ok": true}' }));
    });
    const provider = createOpenAICompatibleProvider({ baseURL: `${url}/v1`, apiKey: 'sk-test' });
    return { model: provider.chatModel('gpt-4o-mini', { maxTokens: 32 }), requests };
  }

  it('finds tools when the model calls the bound ping tool, and json when it answers {"ok": true} in JSON mode', async () => {
    const { model, requests } = await chatModel({ tool_calls: [toolCall('call_1', 'ping', {})] });
    expect(await liveProbe({ model })).toEqual({ tools: true, json: true });
    const withTools = requests.find((r) => (r.body as { tools?: unknown }).tools)?.body as {
      tools: { function: { name: string } }[];
      max_tokens?: number;
    };
    expect(withTools.tools[0]?.function.name).toBe('ping');
    const jsonAsk = requests.find((r) => !(r.body as { tools?: unknown }).tools)?.body as { response_format?: unknown };
    expect(jsonAsk.response_format).toEqual({ type: 'json_object' });
  });

  it('finds no tools when the model answers with text instead of a tool call', async () => {
    const { model } = await chatModel({ content: 'pong' });
    expect(await liveProbe({ model })).toEqual({ tools: false, json: true });
  });

  it('finds no tools when the server rejects tools with HTTP 400', async () => {
    const { url } = await serve((req, res) => {
      if ((req.body as { tools?: unknown }).tools)
        return json(res, 400, { error: { message: 'model does not support tools', type: 'invalid_request_error' } });
      return json(res, 200, completion({ content: 'sure thing' }));
    });
    const model = createOpenAICompatibleProvider({ baseURL: `${url}/v1`, apiKey: 'sk-test' }).chatModel('m');
    expect(await liveProbe({ model })).toEqual({ tools: false, json: false });
  });

  it('probeModel with live merges the live answers over the listed ones and caches them as live', async () => {
    const { url } = await serve((req, res) => {
      if (req.path === '/v1/models')
        return json(res, 200, { data: [{ id: 'm', max_model_len: 16384, capabilities: ['tools'] }] });
      return json(
        res,
        200,
        completion((req.body as { tools?: unknown }).tools ? { content: 'no' } : { content: '{"ok": true}' }),
      );
    });
    const chat = createOpenAICompatibleProvider({ kind: 'local', baseURL: `${url}/v1` }).chatModel('m');
    const db = new Database(':memory:');
    const cache = createCapabilityCache({ db, ttlMs: 60_000 });
    const result = await probeModel(pool({ provider: 'local', model: 'm' }), {
      baseURL: `${url}/v1`,
      live: true,
      chatModel: chat,
      cache,
    });
    expect(result).toMatchObject({
      source: 'live',
      cached: false,
      capabilities: { tools: false, json: true, vision: false, contextWindow: 16384 },
    });
    expect(cache.get(`local:m@${url}/v1`)?.source).toBe('live');
    db.close();
  });
});
