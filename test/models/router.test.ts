import { ChatAnthropic } from '@langchain/anthropic';
import { ChatOpenAI } from '@langchain/openai';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, run } from 'cadre';
import { createFixedRouter, createRouterFromConfig, detectProviders, parseModelRef } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { createSimpleRouter } from '../../src/models/router.js';
import { json, startWireServer } from '../fixtures/wire-server.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => server?.close());
const closedPort = 'http://127.0.0.1:2';

describe('provider detection', () => {
  it('reports a reachable Ollama with its models and an unreachable one quickly', async () => {
    server = await startWireServer((_req, res) => json(res, 200, { models: [{ name: 'llama3.1:8b' }] }));
    const [up] = await detectProviders(loadConfig({ ollamaHost: server.url }, {}));
    expect(up).toMatchObject({ kind: 'ollama', reachable: true, models: ['llama3.1:8b'] });
    const started = performance.now();
    const [down] = await detectProviders(loadConfig({ ollamaHost: closedPort }, {}), { timeoutMs: 500 });
    expect(down).toMatchObject({ kind: 'ollama', reachable: false });
    expect(performance.now() - started).toBeLessThan(700);
  });

  it('gives up within the timeout on a host that accepts but never answers', async () => {
    server = await startWireServer(() => undefined); // never responds
    const started = performance.now();
    const [silent] = await detectProviders(loadConfig({ ollamaHost: server.url }, {}), { timeoutMs: 200 });
    expect(silent?.reachable).toBe(false);
    expect(performance.now() - started).toBeLessThan(600);
  });

  it('builds a router over reachable providers, and throws model_unavailable when none answers', async () => {
    server = await startWireServer((_req, res) => json(res, 200, { object: 'list', data: [{ id: 'served-model' }] }));
    const router = await createRouterFromConfig(
      loadConfig({ ollamaHost: closedPort, localBaseUrl: `${server.url}/v1` }, {}),
    );
    const decision = await router.select({});
    expect(decision.ref).toEqual({ provider: 'local', model: 'served-model', location: 'local' });
    await expect(createRouterFromConfig(loadConfig({ ollamaHost: closedPort }, {}))).rejects.toMatchObject({
      code: 'model_unavailable',
    });
  });
});

describe('simple router', () => {
  const a = { ref: parseModelRef('ollama:small'), model: new ScriptedChatModel({ replies: ['a'] }) };
  const b = { ref: parseModelRef('openai:gpt-4o-mini'), model: new ScriptedChatModel({ replies: ['b'] }) };

  it('takes the explicit model, else the preferred one, else the first in order, and says why', async () => {
    expect(
      (
        await createSimpleRouter({ candidates: [a, b], explicit: 'openai:gpt-4o-mini' }).select({
          preferred: 'ollama:small',
        })
      ).reason,
    ).toMatch(/explicit/);
    const router = createSimpleRouter({ candidates: [a, b] });
    const preferred = await router.select({ preferred: 'openai:gpt-4o-mini' });
    expect(preferred.ref.model).toBe('gpt-4o-mini');
    expect(preferred.reason).toMatch(/preferred/);
    const fallback = await router.select({ preferred: 'anthropic:claude-x' });
    expect(fallback.ref.model).toBe('small');
    expect(fallback.reason).toMatch(/not available; first reachable/);
  });

  it('refuses an explicit model that is not available, naming what is', () => {
    expect(() => createSimpleRouter({ candidates: [a], explicit: 'openai:gpt-5' })).toThrow(/available: ollama:small/);
  });

  it('parses provider:model and rejects anything else with config_invalid', () => {
    expect(parseModelRef('anthropic:claude-sonnet-4-5')).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      location: 'cloud',
    });
    for (const bad of ['llama3', ':x', 'gpu:llama', 'ollama:']) {
      expect(() => parseModelRef(bad)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    }
  });
});

describe('a fixed router (run({ model }))', () => {
  it('refuses a sensitive call to a model that runs in the cloud, and lets local ones through', async () => {
    const cloud = createFixedRouter(new ChatOpenAI({ model: 'gpt-4o', apiKey: 'sk-test' }));
    expect(cloud.candidates[0]!.location).toBe('cloud');
    await expect(cloud.select({ taskKind: 'agent', privacy: 'sensitive' })).rejects.toMatchObject({
      code: 'model_unavailable',
      kind: 'user',
    });
    await expect(cloud.select({ taskKind: 'agent' })).resolves.toMatchObject({ ref: { location: 'cloud' } });
    expect(createFixedRouter(new ChatAnthropic({ model: 'claude', apiKey: 'k' })).candidates[0]!.location).toBe(
      'cloud',
    );
    const onThisMachine = createFixedRouter(
      new ChatOpenAI({ model: 'qwen', apiKey: 'k', configuration: { baseURL: 'http://127.0.0.1:8000/v1' } }),
    );
    await expect(onThisMachine.select({ taskKind: 'agent', privacy: 'sensitive' })).resolves.toMatchObject({
      ref: { location: 'local' },
    });
    const declared = createFixedRouter(new ChatOpenAI({ model: 'm', apiKey: 'k' }), { location: 'local' });
    await expect(declared.select({ taskKind: 'agent', privacy: 'sensitive' })).resolves.toBeDefined();
  });

  it('ends a sensitive run given a cloud model with model_unavailable before any request', async () => {
    const result = await run({
      goal: 'Summarise the account',
      agent: { name: 'a', instructions: 'x' },
      privacy: 'sensitive',
      model: new ChatOpenAI({
        model: 'gpt-4o',
        apiKey: 'sk-test',
        configuration: { baseURL: 'https://api.example.com/v1' },
      }),
      config: { databasePath: ':memory:', ollamaHost: 'http://127.0.0.1:2' },
    }).result;
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result)).toContain('model_unavailable');
    expect(result.steps).toBe(0);
  });
});
