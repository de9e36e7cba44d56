import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HumanMessage } from '@langchain/core/messages';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run, type CadreEvent, type CadreEventOf } from 'cadre';
import { createMemory, ShortTermMemory, type Memory } from 'cadre/memory';
import {
  createFixedRouter,
  createOpenAICompatibleEmbedder,
  createOpenAICompatibleProvider,
  createPolicyRouter,
  poolModel,
} from 'cadre/models';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { startScriptedOpenAIServer, type ScriptedServer } from '../fixtures/model-wire.js';
import { collect } from '../fixtures/run-events.js';
import { json, startWireServer } from '../fixtures/wire-server.js';

const offline = { ollamaHost: 'http://127.0.0.1:2', learnFacts: true };
const fact = { facts: [{ subject: { name: 'Acme', type: 'organisation' }, predicate: 'ships_with', value: 'DHL' }] };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

type Recorder = Pick<ScriptedServer, 'url' | 'requests'>;

/** Cloud services that only record: an embedder, a fact extractor and a summariser, all speaking OpenAI's wire format. */
async function cloudServices() {
  const embeddings = await startWireServer((req, res) => {
    const { input, model } = req.body as { input: string[]; model: string };
    const data = input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, 1, 1, 1] }));
    return json(res, 200, { object: 'list', model, data, usage: { prompt_tokens: 1, total_tokens: 1 } });
  });
  const extractor = await startScriptedOpenAIServer({
    models: [{ id: 'gpt-4o-mini' }],
    fallback: { kind: 'ok', text: '{"facts": []}' },
  });
  const summariser = await startScriptedOpenAIServer({
    models: [{ id: 'gpt-4o-mini' }],
    fallback: { kind: 'ok', text: 'a summary' },
  });
  closers.push(embeddings.close, extractor.close, summariser.close);
  return {
    embedder: { url: `${embeddings.url}/v1`, requests: embeddings.requests } satisfies Recorder,
    extractor,
    summariser,
  };
}

type Cloud = Awaited<ReturnType<typeof cloudServices>>;
const cloudChat = (server: Recorder) =>
  createOpenAICompatibleProvider({ kind: 'openai', baseURL: server.url, apiKey: 'sk-test' }).chatModel('gpt-4o-mini');

/** Memory on the cloud embedder: cloud because it is declared an OpenAI model, whatever its address. */
async function cloudMemory(cloud: Cloud): Promise<Memory> {
  const embedder = createOpenAICompatibleEmbedder({
    kind: 'openai',
    baseUrl: cloud.embedder.url,
    apiKey: 'sk-test',
    model: 'text-embedding-3-small',
    dimensions: 4,
  });
  const memory = await createMemory({ dir: mkdtempSync(join(tmpdir(), 'cadre-private-')), embedder, env: {} });
  closers.push(() => memory.close());
  return memory;
}

/** A local scripted model and the cloud extractor in one pool; a rule sends fact extraction to the cloud. */
function team(cloud: Cloud) {
  const local = new ScriptedChatModel({
    respond: ({ tools, toolResults }) => {
      if (tools.includes('record_facts')) return { toolCalls: [{ name: 'record_facts', args: fact }] };
      if (toolResults.length) return 'Acme ships with DHL; the ticket is filed.';
      return { toolCalls: [{ name: 'remember', args: { text: 'Acme ships with DHL.' } }, { name: 'digest' }] };
    },
  });
  const router = createPolicyRouter({
    models: [
      { model: poolModel({ provider: 'ollama', model: 'llama3.1', capabilities: { tools: true } }), chat: local },
      { model: poolModel({ provider: 'openai', model: 'gpt-4o-mini' }), chat: cloudChat(cloud.extractor) },
    ],
    routing: { rules: [{ name: 'extract-in-the-cloud', when: { taskKind: 'extract' }, prefer: 'cloud' }] },
  });
  // A tool that keeps a conversation window, folded by a summariser declared to be an OpenAI model.
  const digest = defineTool({
    name: 'digest',
    description: 'condenses the notes so far',
    input: z.object({}),
    effects: 'read',
    run: async () => {
      const window = new ShortTermMemory({
        maxTokens: 20,
        keepLast: 1,
        summariser: createFixedRouter(cloudChat(cloud.summariser), { provider: 'openai', model: 'gpt-4o-mini' }),
      });
      for (const note of [
        'Acme ships every order with DHL from the Leeds depot.',
        'Orders over 20 kg go by pallet instead.',
        'Ask before changing carriers.',
      ])
        window.add(new HumanMessage(note));
      const kept = await window.messages();
      return `${kept.length} kept, ${window.dropped} dropped`;
    },
  });
  return { router, agent: { name: 'clerk', instructions: 'File the ticket.', tools: [digest] } };
}

const ofType = <T extends CadreEvent['type']>(events: CadreEvent[], type: T) =>
  events.filter((e): e is CadreEventOf<T> => e.type === type);
const bodies = (...servers: Recorder[]) => JSON.stringify(servers.flatMap((s) => s.requests.map((r) => r.body)));

describe('memory in a private run', () => {
  it('sends nothing to a cloud embedder, fact extractor or summariser from a sensitive run, which completes with memory kept locally', async () => {
    const cloud = await cloudServices();
    const memory = await cloudMemory(cloud);
    const { router, agent } = team(cloud);
    const { result, events } = await collect(
      run({ goal: 'File the shipping ticket for Acme', agent, router, memory, privacy: 'sensitive', config: offline }),
    );

    expect(result.status).toBe('completed');
    expect([cloud.embedder.requests.length, cloud.extractor.requests.length, cloud.summariser.requests.length]).toEqual(
      [0, 0, 0],
    );
    // Fact extraction went through the privacy-aware router: local, and labelled so.
    expect(ofType(events, 'model.routed').find((e) => e.taskId === 'main#facts')).toMatchObject({
      provider: 'ollama',
      privacy: 'sensitive',
    });
    expect(ofType(events, 'memory.written').map((e) => e.kind)).toEqual(['facts']);
    expect((await memory.recall('Acme', { tiers: ['graph'] })).text).toContain('Acme ships with DHL');
    expect((await memory.stats()).episodes).toBe(1);
    // Whatever needed the cloud embedder was skipped, each with an event naming why and nothing of the text.
    const skipped = ofType(events, 'memory.skipped');
    expect(skipped.map((e) => `${e.taskId}: ${e.kind}`)).toEqual([
      'plan: recall',
      'main: recall',
      'main: task_result',
      'plan: plan',
    ]);
    for (const e of skipped) expect(e).toMatchObject({ reason: 'sensitive', model: 'openai:text-embedding-3-small' });
    const toolOutputs = ofType(events, 'tool.result').map((e) => `${e.tool}: ${JSON.stringify(e)}`);
    expect(toolOutputs.find((t) => t.startsWith('remember'))).toContain('not remembered: this run is sensitive');
    expect(toolOutputs.find((t) => t.startsWith('digest'))).toMatch(/1 kept, 2 dropped/);
  });

  it('uses the same cloud embedder, extractor and summariser in a public run without personal data', async () => {
    const cloud = await cloudServices();
    const { router, agent } = team(cloud);
    const { result } = await collect(
      run({
        goal: 'File the shipping ticket for Acme',
        agent,
        router,
        memory: await cloudMemory(cloud),
        config: offline,
      }),
    );
    expect(result.status).toBe('completed');
    expect(cloud.embedder.requests.length).toBeGreaterThan(0);
    expect(cloud.extractor.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
    expect(cloud.summariser.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('keeps text holding an e-mail address or phone number from the cloud embedder in an unlabelled run, and embeds the rest', async () => {
    const cloud = await cloudServices();
    const memory = await cloudMemory(cloud);
    const { router, agent } = team(cloud);
    const goal = 'Reply to jane.roe@example.com (phone +44 20 7946 0958) about her late parcel';
    const { result, events } = await collect(
      run({ goal, agent, router, memory, config: { ...offline, learnFacts: false } }),
    );

    expect(result.status).toBe('completed');
    const embedded = cloud.embedder.requests.flatMap((r) => (r.body as { input: string[] }).input);
    expect(embedded.length).toBeGreaterThan(0);
    expect(embedded.join('\n')).toContain('Acme ships with DHL');
    expect(bodies(cloud.embedder, cloud.extractor, cloud.summariser)).not.toMatch(/jane\.roe|7946/);
    const skipped = ofType(events, 'memory.skipped');
    expect(skipped.map((e) => e.kind)).toContain('recall');
    for (const e of skipped)
      expect(e).toMatchObject({ reason: 'personal_data', found: expect.arrayContaining(['email', 'phone']) });
    expect(JSON.stringify(skipped)).not.toMatch(/jane\.roe|7946/);
  });
});
