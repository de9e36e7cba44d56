import { HumanMessage, ToolMessage, type AIMessage } from '@langchain/core/messages';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { CadreError } from '../../src/core/index.js';
import {
  createPolicyRouter,
  poolModel,
  routedReplyInfo,
  type ModelEntryInput,
  type Reroute,
  type RoutingConfigInput,
} from '../../src/models/index.js';
import { ScriptedChatModel, type ScriptedReply } from '../../src/testing/index.js';

type Member = ModelEntryInput & { replies?: ScriptedReply[] };

/** A pool of scripted models; each answers with its own id unless given replies. */
function pool(
  members: Member[],
  routing: RoutingConfigInput = {},
  extra: { serverQueue?: (id: string) => number } = {},
) {
  const chats = new Map<string, ScriptedChatModel>();
  const models = members.map(({ replies, ...entry }) => {
    const model = poolModel(entry);
    const chat = new ScriptedChatModel(replies ? { replies } : { respond: () => `answer from ${model.id}` });
    chats.set(model.id, chat);
    return { model, chat };
  });
  return { router: createPolicyRouter({ models, routing, ...extra }), chats };
}

const local = (model: string, more: Partial<Member> = {}): Member => ({
  provider: 'ollama',
  model,
  capabilities: { tools: true, json: true },
  ...more,
});
const cloud = (model: string, more: Partial<Member> = {}): Member => ({ provider: 'openai', model, ...more });
const ask = async (decision: { model: { invoke(m: HumanMessage[]): Promise<unknown> } }, text = 'hello') =>
  (await decision.model.invoke([new HumanMessage(text)])) as AIMessage;

describe('policy router', () => {
  it('keeps a request labelled sensitive on local models, and says what it excluded', async () => {
    const { router } = pool([cloud('gpt-4o', { strength: 9 }), local('llama3.1')]);
    const decision = await router.select({ taskKind: 'plan', privacy: 'sensitive' });
    expect(decision.ref).toMatchObject({ provider: 'ollama', model: 'llama3.1', location: 'local' });
    expect(decision.privacy).toBe('sensitive');
    expect(decision.reason).toContain('openai:gpt-4o (sensitive data stays on local models)');
    expect(decision.fallbacks).toEqual([]);
  });

  it('raises privacy when the prompt holds personal data, naming the kind but not the value', async () => {
    const { router } = pool([cloud('gpt-4o'), local('llama3.1')]);
    const decision = await router.select({ text: 'Write to jane.doe@example.com about the invoice' });
    expect(decision.privacy).toBe('sensitive');
    expect(decision.ref.location).toBe('local');
    expect(decision.reason).toContain('email');
    expect(decision.reason).not.toContain('jane.doe');
    const plain = await router.select({ text: 'Summarise the release notes of version 1.2.3' });
    expect(plain.privacy).toBe('public');
    expect(plain.ref.provider).toBe('openai');
  });

  it('plans with the strongest model and sends extraction to the cheapest (default rules)', async () => {
    const { router } = pool([
      local('qwen2.5:3b', { strength: 3 }),
      cloud('gpt-4o-mini', { strength: 6 }),
      cloud('gpt-4o', { strength: 9 }),
    ]);
    expect((await router.select({ taskKind: 'plan' })).ref.model).toBe('gpt-4o');
    expect((await router.select({ taskKind: 'extract' })).ref.model).toBe('qwen2.5:3b');
    const plan = router.plan({ taskKind: 'plan' });
    expect(plan.rules).toEqual(['plan-with-the-strongest']);
    expect(plan.chain.map((m) => m.ref.model)).toEqual(['gpt-4o', 'gpt-4o-mini', 'qwen2.5:3b']);
  });

  it('never offers a model a capability it lacks', async () => {
    const { router } = pool([local('llama3.1'), local('llava', { capabilities: { vision: true } })]);
    expect((await router.select({ requiredCapabilities: ['vision'] })).ref.model).toBe('llava');
    const none = pool([local('llama3.1')]).router;
    const error = await none.select({ requiredCapabilities: ['vision'] }).catch((e: unknown) => e);
    expect(CadreError.isInstance(error) && error.code).toBe('model_unavailable');
    expect((error as Error).message).toContain('lacks vision');
  });

  it('uses native tool calling where a model has it, and the JSON-in-text protocol where none does', async () => {
    const mixed = pool([local('phi3', { capabilities: {} }), local('llama3.1')]).router;
    const native = await mixed.select({ requiredCapabilities: ['tools'] });
    expect(native).toMatchObject({ nativeTools: true, ref: { model: 'llama3.1' } });
    const plain = pool([local('phi3', { capabilities: {} })]).router;
    expect(await plain.select({ requiredCapabilities: ['tools'] })).toMatchObject({
      nativeTools: false,
      ref: { model: 'phi3' },
    });
  });

  it('leaves out a model whose context window cannot hold the request', async () => {
    const { router } = pool([
      local('small', { capabilities: { contextWindow: 2048 } }),
      local('big', { capabilities: { contextWindow: 128_000 } }),
    ]);
    expect((await router.select({ estimatedTokens: 1000 })).ref.model).toBe('small');
    const plan = router.plan({ estimatedTokens: 5000 });
    expect(plan.chain.map((m) => m.ref.model)).toEqual(['big']);
    expect(plan.excluded[0]?.why).toContain('context window 2048');
  });

  it('applies configured rules: require filters, prefer orders', async () => {
    const routing = {
      rules: [
        { name: 'code-on-coder', when: { taskKind: 'code' }, require: { tags: ['coder'] } },
        { name: 'chat-prefers', when: { taskKind: 'chat' }, prefer: { models: ['openai:gpt-4o-mini'] } },
      ],
    };
    const { router } = pool(
      [local('llama3.1'), local('qwen2.5-coder', { tags: ['coder'] }), cloud('gpt-4o-mini')],
      routing,
    );
    expect((await router.select({ taskKind: 'code' })).ref.model).toBe('qwen2.5-coder');
    expect((await router.select({ taskKind: 'chat' })).ref.model).toBe('gpt-4o-mini');
    expect((await router.select({ taskKind: 'reason' })).ref.model).toBe('llama3.1');
  });

  it('lets the hook reorder but never bring back a model privacy excluded', async () => {
    const models = [local('llama3.1'), local('mistral'), cloud('gpt-4o')].map((m) => ({
      model: poolModel(m),
      chat: new ScriptedChatModel({ replies: ['x'] }),
    }));
    const router = createPolicyRouter({
      models,
      hook: ({ candidates }) => [models[2]!.model, ...[...candidates].reverse()],
    });
    const decision = await router.select({ privacy: 'sensitive' });
    expect([decision.ref.model, ...decision.fallbacks!.map((r) => r.model)]).toEqual(['mistral', 'llama3.1']);
  });

  it('spills to cloud when the local queue is deep, but not a sensitive request', async () => {
    let depth = 0;
    const { router } = pool(
      [local('llama3.1'), cloud('gpt-4o-mini')],
      { spillQueueDepth: 4 },
      { serverQueue: (id) => (id.startsWith('ollama') ? depth : 0) },
    );
    expect((await router.select({})).ref.model).toBe('llama3.1');
    depth = 6;
    expect((await router.select({})).ref.model).toBe('gpt-4o-mini');
    expect((await router.select({ privacy: 'sensitive' })).ref.model).toBe('llama3.1');
  });

  it('counts decisions made in the same moment, so a burst of tasks spills before any call starts', async () => {
    const { router } = pool([local('llama3.1', { concurrency: 2 }), cloud('gpt-4o-mini')], { spillQueueDepth: 3 });
    const decisions = await Promise.all(Array.from({ length: 8 }, () => router.select({})));
    // 2 run at once and 3 may wait; the sixth and later go to the cloud.
    expect(decisions.map((d) => d.ref.location)).toEqual([
      'local',
      'local',
      'local',
      'local',
      'local',
      'cloud',
      'cloud',
      'cloud',
    ]);
    await Promise.all(decisions.map((d) => ask(d)));
    expect(router.queueDepth('ollama:llama3.1')).toBe(0);
  });

  it('goes for the cheapest model when the budget runs low, and drops models one call would overrun', async () => {
    const { router } = pool(
      [cloud('gpt-4o', { maxOutputTokens: 1000 }), cloud('gpt-4o-mini', { maxOutputTokens: 1000 })],
      { downgradeBelow: 0.3 },
    );
    expect((await router.select({ budget: { limitUsd: 1, remainingUsd: 0.9 } })).ref.model).toBe('gpt-4o');
    expect((await router.select({ budget: { limitUsd: 1, remainingUsd: 0.2 } })).ref.model).toBe('gpt-4o-mini');
    // gpt-4o: 1000 output tokens at $10/M = $0.01; gpt-4o-mini: $0.0006.
    const plan = router.plan({ budget: { limitUsd: 1, remainingUsd: 0.005 } });
    expect(plan.chain.map((m) => m.ref.model)).toEqual(['gpt-4o-mini']);
  });

  it('falls back along the chain when a model fails, and reports who answered', async () => {
    const failing = { error: new CadreError('provider_error', 'HTTP 500') };
    const { router, chats } = pool([local('llama3.1', { replies: [failing] }), cloud('gpt-4o-mini')]);
    const reroutes: Reroute[] = [];
    const decision = await router.select({ onReroute: (r) => reroutes.push(r) });
    const reply = await ask(decision);
    expect(reply.content).toBe('answer from openai:gpt-4o-mini');
    expect(routedReplyInfo(reply)).toMatchObject({ model: 'openai:gpt-4o-mini', location: 'cloud' });
    expect(reroutes).toEqual([
      expect.objectContaining({
        kind: 'fallback',
        from: expect.objectContaining({ model: 'llama3.1' }),
        to: expect.objectContaining({ model: 'gpt-4o-mini' }),
      }),
    ]);
    expect(chats.get('ollama:llama3.1')!.calls).toBe(1);
  });

  it('opens a breaker after consecutive failures, skips the model, and lets a trial through later', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 0 });
    onTestFinished(() => void vi.useRealTimers());
    const failing = Array.from({ length: 3 }, () => ({ error: new CadreError('provider_error', 'HTTP 503') }));
    const { router, chats } = pool([local('llama3.1', { replies: [...failing, 'recovered'] }), cloud('gpt-4o-mini')], {
      breaker: { failures: 3, halfOpenAfterMs: 1000 },
    });
    for (let i = 0; i < 3; i++) await ask(await router.select({}));
    expect(router.lane('ollama:llama3.1').health).toBe('open');
    expect((await router.select({})).ref.model).toBe('gpt-4o-mini');
    await ask(await router.select({}));
    expect(chats.get('ollama:llama3.1')!.calls).toBe(3);
    vi.setSystemTime(1500);
    expect(router.lane('ollama:llama3.1').health).toBe('trial');
    const decision = await router.select({});
    expect(decision.ref.model).toBe('llama3.1');
    expect((await ask(decision)).content).toBe('recovered');
    expect(router.lane('ollama:llama3.1').health).toBe('closed');
  });

  it('moves a public conversation local when personal data shows up in a tool result', async () => {
    const { router } = pool([cloud('gpt-4o-mini'), local('llama3.1')]);
    const reroutes: Reroute[] = [];
    const decision = await router.select({ text: 'Find the customer record', onReroute: (r) => reroutes.push(r) });
    expect(decision.ref.location).toBe('cloud');
    const first = await ask(decision);
    expect(routedReplyInfo(first)?.location).toBe('cloud');
    const later = await decision.model.invoke([
      new HumanMessage('Find the customer record'),
      new ToolMessage({ content: 'name: Jane, card 4111 1111 1111 1111', tool_call_id: 'c1' }),
    ]);
    expect(routedReplyInfo(later as AIMessage)?.location).toBe('local');
    expect(reroutes.map((r) => r.kind)).toEqual(['privacy']);
  });

  it('estimates the most a call can cost before it is made', async () => {
    const { router } = pool([
      cloud('gpt-4o', { maxOutputTokens: 500 }),
      cloud('gpt-4o-mini', { maxOutputTokens: 500 }),
    ]);
    const decision = await router.select({});
    const estimate = decision.estimate!([{ content: 'x'.repeat(3000) }]);
    // 1004 input tokens at most; the dearer model bounds the chain: (1004 * 2.5 + 500 * 10) / 1e6.
    expect(estimate.tokens).toBe(1504);
    expect(estimate.costUsd).toBeCloseTo((1004 * 2.5 + 500 * 10) / 1e6, 9);
  });

  it('rejects a cascade naming a model that is not in the pool, and duplicate ids', () => {
    expect(() =>
      pool([local('a'), local('b')], { cascade: { reason: { models: ['ollama:a', 'ollama:zz'] } } }),
    ).toThrow(/ollama:zz/);
    expect(() => pool([local('a'), local('a')])).toThrow(/share the id ollama:a/);
  });
});

describe('cascade', () => {
  const routing: RoutingConfigInput = {
    cascade: { reason: { models: ['ollama:small', 'openai:gpt-4o'], check: 'schema' } },
  };

  it('escalates when the cheap answer fails the check, and charges both calls', async () => {
    const { router, chats } = pool(
      [
        local('small', { replies: [{ content: 'not json', usage: { inputTokens: 10, outputTokens: 5 } }] }),
        cloud('gpt-4o', { replies: [{ content: '{"ok":true}', usage: { inputTokens: 10, outputTokens: 5 } }] }),
      ],
      routing,
    );
    const reroutes: Reroute[] = [];
    const reply = await ask(await router.select({ taskKind: 'reason', onReroute: (r) => reroutes.push(r) }));
    expect(reply.content).toBe('{"ok":true}');
    expect(chats.get('ollama:small')!.calls).toBe(1);
    expect(reroutes).toEqual([
      expect.objectContaining({ kind: 'escalate', reason: expect.stringContaining('schema') }),
    ]);
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 20, output_tokens: 10 });
    expect(routedReplyInfo(reply)?.costUsd).toBeCloseTo((10 * 2.5 + 5 * 10) / 1e6, 12);
  });

  it('keeps the cheap answer when it passes, without calling the strong model', async () => {
    const { router, chats } = pool([local('small', { replies: ['{"ok":1}'] }), cloud('gpt-4o')], routing);
    const reply = await ask(await router.select({ taskKind: 'reason' }));
    expect(reply.content).toBe('{"ok":1}');
    expect(chats.get('openai:gpt-4o')!.calls).toBe(0);
  });

  it('uses the caller check for an evaluator cascade, and the model itself for a self-check', async () => {
    const evaluator = pool([local('small', { replies: ['42'] }), cloud('gpt-4o', { replies: ['43'] })], {
      cascade: { reason: { models: ['ollama:small', 'openai:gpt-4o'], check: 'evaluator' } },
    });
    const checked = await ask(
      await evaluator.router.select({
        taskKind: 'reason',
        checkAnswer: (a) => ({ ok: a === '43', reason: 'wrong number' }),
      }),
    );
    expect(checked.content).toBe('43');
    const self = pool([local('small', { replies: ['Paris', 'YES'] }), cloud('gpt-4o')], {
      cascade: { reason: { models: ['ollama:small', 'openai:gpt-4o'] } },
    });
    expect((await ask(await self.router.select({ taskKind: 'reason' }), 'Capital of France?')).content).toBe('Paris');
    expect(self.chats.get('openai:gpt-4o')!.calls).toBe(0);
    const doubt = pool(
      [local('small', { replies: ['Lyon', 'NO: the capital is Paris'] }), cloud('gpt-4o', { replies: ['Paris'] })],
      { cascade: { reason: { models: ['ollama:small', 'openai:gpt-4o'] } } },
    );
    expect((await ask(await doubt.router.select({ taskKind: 'reason' }), 'Capital of France?')).content).toBe('Paris');
  });

  it('passes tool-call steps through without judging them', async () => {
    const { router, chats } = pool(
      [local('small', { replies: [{ toolCalls: [{ name: 'search', args: { q: 'x' } }] }] }), cloud('gpt-4o')],
      routing,
    );
    const reply = await ask(await router.select({ taskKind: 'reason' }));
    expect(reply.tool_calls?.[0]?.name).toBe('search');
    expect(chats.get('openai:gpt-4o')!.calls).toBe(0);
  });

  it('never cascades a sensitive request to a cloud level', async () => {
    const { router } = pool([local('small', { replies: ['not json'] }), cloud('gpt-4o')], routing);
    const decision = await router.select({ taskKind: 'reason', privacy: 'sensitive' });
    expect(decision.fallbacks).toEqual([]);
    expect(routedReplyInfo(await ask(decision))?.location).toBe('local');
  });
});
