import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from 'cadre';
import { createRouterFromConfig, createSimpleRouter, detectProviders, parseModelRef } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
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
    const router = await createRouterFromConfig(loadConfig({ ollamaHost: closedPort, localBaseUrl: `${server.url}/v1` }, {}));
    const decision = await router.select({});
    expect(decision.ref).toEqual({ provider: 'local', model: 'served-model', location: 'local' });
    await expect(createRouterFromConfig(loadConfig({ ollamaHost: closedPort }, {}))).rejects.toMatchObject({ code: 'model_unavailable' });
  });
});

describe('simple router', () => {
  const a = { ref: parseModelRef('ollama:small'), model: new ScriptedChatModel({ replies: ['a'] }) };
  const b = { ref: parseModelRef('openai:gpt-4o-mini'), model: new ScriptedChatModel({ replies: ['b'] }) };

  it('takes the explicit model, else the preferred one, else the first in order, and says why', async () => {
    expect((await createSimpleRouter({ candidates: [a, b], explicit: 'openai:gpt-4o-mini' }).select({ preferred: 'ollama:small' })).reason).toMatch(/explicit/);
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
    expect(parseModelRef('anthropic:claude-sonnet-4-5')).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5', location: 'cloud' });
    for (const bad of ['llama3', ':x', 'gpu:llama', 'ollama:']) {
      expect(() => parseModelRef(bad)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    }
  });
});
