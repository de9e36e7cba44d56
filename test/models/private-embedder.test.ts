import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { afterEach, describe, expect, it } from 'vitest';
import { CadreError } from '../../src/core/index.js';
import { ShortTermMemory } from 'cadre/memory';
import {
  HashingEmbedder,
  createFixedRouter,
  createOllamaEmbedder,
  createOpenAICompatibleEmbedder,
  createPolicyRouter,
  poolModel,
  privateEmbedder,
  withPrivacy,
  type Embedder,
} from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { json, startWireServer } from '../fixtures/wire-server.js';

let server: Awaited<ReturnType<typeof startWireServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A cloud embedder on a recording server: cloud by declaration (the default `kind: 'openai'`), not by address. */
async function cloudEmbedder(): Promise<Embedder> {
  server = await startWireServer((req, res) => {
    const { input } = req.body as { input: string[] };
    return json(res, 200, {
      object: 'list',
      data: input.map((_, index) => ({ object: 'embedding', index, embedding: [1, 0] })),
      usage: { prompt_tokens: 1, total_tokens: 1 },
    });
  });
  return createOpenAICompatibleEmbedder({
    baseUrl: `${server.url}/v1`,
    model: 'text-embedding-3-small',
    dimensions: 2,
  });
}

async function refusal(promise: Promise<unknown>): Promise<CadreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CadreError.isInstance(error) && error.code).toBe('privacy_blocked');
  return error as CadreError;
}

describe('where an embedder runs', () => {
  it('is decided like a chat model: by its provider kind unless declared', () => {
    expect(createOpenAICompatibleEmbedder({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'm' }).location).toBe('cloud');
    expect(
      createOpenAICompatibleEmbedder({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'm', kind: 'local' }).location,
    ).toBe('local');
    expect(createOpenAICompatibleEmbedder({ model: 'm', location: 'local' }).location).toBe('local');
    expect(createOllamaEmbedder({ model: 'nomic-embed-text' }).location).toBe('local');
    expect(createOllamaEmbedder({ model: 'nomic-embed-text', location: 'cloud' }).location).toBe('cloud');
    expect(new HashingEmbedder().location).toBe('local');
  });
});

describe('privateEmbedder', () => {
  it('sends a cloud embedder nothing from a sensitive call, and an inner public label cannot lower it', async () => {
    const embedder = privateEmbedder(await cloudEmbedder());
    const error = await refusal(
      withPrivacy('sensitive', () => withPrivacy('public', () => embedder.embed(['quarterly plan']))),
    );
    expect(error.details).toEqual({ model: 'openai:text-embedding-3-small', reason: 'sensitive' });
    expect(server!.requests).toHaveLength(0);
    expect(await embedder.embed(['quarterly plan'])).toEqual([[1, 0]]);
    expect(server!.requests).toHaveLength(1);
  });

  it('keeps text holding personal data from a cloud embedder in any call, naming the kinds and never the values', async () => {
    const embedder = privateEmbedder(await cloudEmbedder());
    const error = await refusal(
      embedder.embed(['fine', 'card 4111 1111 1111 1111, key sk-proj-abcdefghijklmnopqrstuvwx1234']),
    );
    expect(error.details).toMatchObject({ reason: 'personal_data', found: expect.arrayContaining(['card']) });
    expect(JSON.stringify(error.details) + error.message).not.toContain('4111');
    expect(server!.requests).toHaveLength(0);
  });

  it('lets a local embedder read anything, and counts one that does not say where it runs as cloud', async () => {
    const hashing = new HashingEmbedder({ dimensions: 8 });
    expect(privateEmbedder(hashing)).toBe(hashing);
    await expect(withPrivacy('sensitive', () => hashing.embed(['jane.roe@example.com']))).resolves.toHaveLength(1);
    const unsaid: Embedder = { name: 'custom', dimensions: 2, embed: async (texts) => texts.map(() => [1, 0]) };
    await refusal(withPrivacy('sensitive', () => privateEmbedder(unsaid).embed(['x'])));
  });
});

describe('ShortTermMemory summarisers', () => {
  const conversation = [
    'Jane Roe wrote from jane.roe@example.com about parcel 77.',
    'She wants it redelivered on Friday.',
    'Confirm by e-mail.',
  ];
  const fill = (window: ShortTermMemory) =>
    conversation.forEach((text, i) => window.add(i % 2 ? new AIMessage(text) : new HumanMessage(text)));

  it('folds a conversation holding personal data with a local model, never the cloud one, also after the data is folded away', async () => {
    const local = new ScriptedChatModel({ respond: ({ call }) => `local summary ${call + 1}` });
    const cloud = new ScriptedChatModel({ replies: ['cloud summary'] });
    const router = createPolicyRouter({
      models: [
        { model: poolModel({ provider: 'openai', model: 'gpt-4o-mini' }), chat: cloud },
        { model: poolModel({ provider: 'ollama', model: 'llama3.1' }), chat: local },
      ],
      routing: { rules: [{ when: { taskKind: 'summarise' }, prefer: 'cloud' }] },
    });
    const window = new ShortTermMemory({ maxTokens: 30, keepLast: 1, summariser: router });
    fill(window);
    await window.messages();
    // The second fold holds no personal data itself, but the conversation did.
    window.add(new HumanMessage('Also ask the depot to call ahead before they arrive.'));
    await window.messages();
    expect(cloud.calls).toBe(0);
    expect(local.calls).toBeGreaterThanOrEqual(2);
    expect(window.summary).toBe(`local summary ${local.calls}`);
  });

  it('drops a fold a cloud summariser may not read instead of sending it', async () => {
    const cloud = new ScriptedChatModel({ replies: ['a summary'] });
    const window = new ShortTermMemory({
      maxTokens: 30,
      keepLast: 1,
      summariser: createFixedRouter(cloud, { provider: 'openai' }),
    });
    fill(window);
    const kept = await window.messages();
    expect(cloud.calls).toBe(0);
    expect(kept.map((m) => m.content)).toEqual(conversation.slice(1));
    expect(window.dropped).toBe(1);
  });
});
