import { HumanMessage, type AIMessage, type AIMessageChunk } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import {
  createPolicyRouter,
  poolModel,
  routedReplyInfo,
  usageFromMessage,
  type ModelEntryInput,
  type Reroute,
  type RouteDecision,
  type RoutingConfigInput,
} from '../../src/models/index.js';
import { ScriptedChatModel, type ScriptedReply } from '../../src/testing/index.js';

type Member = ModelEntryInput & { replies: ScriptedReply[] };

function pool(members: Member[], routing: RoutingConfigInput) {
  const chats = new Map<string, ScriptedChatModel>();
  const models = members.map(({ replies, ...entry }) => {
    const model = poolModel(entry);
    const chat = new ScriptedChatModel({ replies, chunkSize: 2 });
    chats.set(model.id, chat);
    return { model, chat };
  });
  return { router: createPolicyRouter({ models, routing }), chats };
}

const small = (replies: ScriptedReply[]): Member => ({
  provider: 'ollama',
  model: 'small',
  capabilities: { tools: true, json: true },
  replies,
});
const strong = (replies: ScriptedReply[]): Member => ({ provider: 'openai', model: 'gpt-4o', replies });
const routing: RoutingConfigInput = {
  cascade: { reason: { models: ['ollama:small', 'openai:gpt-4o'], check: 'schema' } },
};
const ask = [new HumanMessage('Reply in JSON')];

async function streamed(decision: RouteDecision) {
  const chunks: AIMessageChunk[] = [];
  for await (const chunk of await decision.model.stream(ask)) chunks.push(chunk);
  return { texts: chunks.map((c) => c.text).filter(Boolean), whole: chunks.reduce((a, c) => a.concat(c)) };
}

describe('a cascade streams', () => {
  const rejected: ScriptedReply = { content: 'not json', usage: { inputTokens: 10, outputTokens: 5 } };
  const accepted: ScriptedReply = { content: '{"ok":true}', usage: { inputTokens: 10, outputTokens: 5 } };

  it('only the answer that passes its check, with the rejected attempt in usage and cost as invoke counts them', async () => {
    const streaming = pool([small([rejected]), strong([accepted])], routing);
    const reroutes: Reroute[] = [];
    const { texts, whole } = await streamed(
      await streaming.router.select({ taskKind: 'reason', onReroute: (r) => reroutes.push(r) }),
    );
    expect(texts.join('')).toBe('{"ok":true}');
    expect(texts.length).toBeGreaterThan(1);
    expect(reroutes).toEqual([
      expect.objectContaining({ kind: 'escalate', reason: 'answer failed the schema: not JSON' }),
    ]);

    const invoking = pool([small([rejected]), strong([accepted])], routing);
    const invoked = (await (await invoking.router.select({ taskKind: 'reason' })).model.invoke(ask)) as AIMessage;
    expect(usageFromMessage(whole)).toEqual(usageFromMessage(invoked));
    expect(usageFromMessage(whole)).toEqual({ inputTokens: 20, outputTokens: 10, totalTokens: 30 });
    expect(routedReplyInfo(whole)).toEqual(routedReplyInfo(invoked));
    expect(routedReplyInfo(whole)?.costUsd).toBeCloseTo((10 * 2.5 + 5 * 10) / 1e6, 12);
  });

  it('the cheap answer, in chunks, when it passes, without calling the strong model', async () => {
    const { router, chats } = pool([small(['{"a":1}']), strong(['{"b":2}'])], routing);
    const { texts, whole } = await streamed(await router.select({ taskKind: 'reason' }));
    expect(texts).toEqual(['{"', 'a"', ':1', '}']);
    expect(routedReplyInfo(whole)?.model).toBe('ollama:small');
    expect(chats.get('openai:gpt-4o')!.calls).toBe(0);
  });

  it('a tool-call step without judging it', async () => {
    const step: ScriptedReply = { toolCalls: [{ name: 'search', args: { q: 'cadre' } }] };
    const { router, chats } = pool([small([step]), strong(['{}'])], routing);
    const { whole } = await streamed(await router.select({ taskKind: 'reason' }));
    expect(whole.tool_calls).toEqual([expect.objectContaining({ name: 'search', args: { q: 'cadre' } })]);
    expect(chats.get('openai:gpt-4o')!.calls).toBe(0);
  });

  it('past a cheap level that fails outright, to the next', async () => {
    const { router } = pool([small([{ error: new Error('boom') }]), strong([accepted])], routing);
    const reroutes: Reroute[] = [];
    const { texts } = await streamed(await router.select({ taskKind: 'reason', onReroute: (r) => reroutes.push(r) }));
    expect(texts.join('')).toBe('{"ok":true}');
    expect(reroutes.map((r) => r.kind)).toEqual(['escalate']);
  });
});
