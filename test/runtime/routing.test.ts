import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run, type CadreEvent, type CadreEventOf } from 'cadre';
import { createPolicyRouter, poolModel, type RoutingConfigInput } from 'cadre/models';
import { StaticPlanner } from 'cadre/planners';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel, type ScriptedReply } from 'cadre/testing';
import { CadreError } from '../../src/core/index.js';
import { collect } from '../fixtures/run-events.js';

const offline = { ollamaHost: 'http://127.0.0.1:2' };
const lookup = defineTool({
  name: 'lookup',
  description: 'looks a customer up',
  input: z.object({ name: z.string() }),
  effects: 'read',
  run: () => 'Jane Roe, jane.roe@example.com, +44 20 7946 0958',
});
const agent = { name: 'clerk', instructions: 'Answer.', tools: [lookup] };

/** A local and a cloud model, each scripted; both can call tools. */
function twoModels(
  local: ScriptedReply[] | ScriptedChatModel,
  cloud: ScriptedReply[],
  routing: RoutingConfigInput = {},
) {
  const localChat = local instanceof ScriptedChatModel ? local : new ScriptedChatModel({ replies: local });
  const cloudChat = new ScriptedChatModel({ replies: cloud });
  const router = createPolicyRouter({
    models: [
      { model: poolModel({ provider: 'openai', model: 'gpt-4o', strength: 9 }), chat: cloudChat },
      { model: poolModel({ provider: 'ollama', model: 'llama3.1', capabilities: { tools: true } }), chat: localChat },
    ],
    routing,
  });
  return { router, localChat, cloudChat };
}

const ofType = <T extends CadreEvent['type']>(events: CadreEvent[], type: T) =>
  events.filter((e): e is CadreEventOf<T> => e.type === type);

describe('runs routed by the policy router', () => {
  it('keeps a run labelled sensitive on the local model and reports spend per model', async () => {
    const { router, cloudChat } = twoModels(
      [{ content: 'done', usage: { inputTokens: 40, outputTokens: 2 } }],
      ['never'],
    );
    const { result, events } = await collect(
      run({ goal: 'Summarise the account', agent, router, privacy: 'sensitive', config: offline }),
    );
    expect(result.status).toBe('completed');
    expect(cloudChat.calls).toBe(0);
    const routed = ofType(events, 'model.routed');
    expect(routed[0]).toMatchObject({ provider: 'ollama', model: 'llama3.1', privacy: 'sensitive' });
    expect(routed[0]!.reason).toContain('sensitive data stays on local models');
    expect(result.models).toEqual([
      { model: 'llama3.1', calls: 1, usage: { inputTokens: 40, outputTokens: 2, totalTokens: 42 }, costUsd: 0 },
    ]);
  });

  it('moves local once a tool result brings personal data into a public conversation, with an event saying so', async () => {
    const { router, localChat, cloudChat } = twoModels(
      ['Found her.'],
      [{ toolCalls: [{ name: 'lookup', args: { name: 'Jane' } }] }],
    );
    const { result, events } = await collect(
      run({ goal: 'Find the customer called Jane', agent, router, config: offline }),
    );
    expect(result.status).toBe('completed');
    expect([cloudChat.calls, localChat.calls]).toEqual([1, 1]);
    const routed = ofType(events, 'model.routed');
    expect(routed.map((e) => [e.provider, e.change ?? 'initial'])).toEqual([
      ['openai', 'initial'],
      ['ollama', 'privacy'],
    ]);
    // Events carry no prompt text: the e-mail address never appears in any event.
    expect(JSON.stringify(routed)).not.toContain('jane.roe');
    expect(result.models.map((m) => m.model).sort()).toEqual(['gpt-4o', 'llama3.1']);
  });

  it('falls back to the cloud model when the local one fails, charging the model that answered', async () => {
    const failing = new ScriptedChatModel({ respond: () => ({ error: new CadreError('provider_error', 'HTTP 500') }) });
    const { router } = twoModels(failing, [{ content: 'answer', usage: { inputTokens: 1000, outputTokens: 100 } }], {
      rules: [{ when: {}, prefer: 'local' }],
    });
    const { result, events } = await collect(run({ goal: 'Answer', agent, router, config: offline }));
    expect(result.status).toBe('completed');
    const fallback = ofType(events, 'model.routed').find((e) => e.change === 'fallback');
    expect(fallback).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    expect(result.tasks[0]!.model).toBe('gpt-4o');
    expect(result.costUsd).toBeCloseTo((1000 * 2.5 + 100 * 10) / 1e6, 10);
  });

  it('never lets a run go over its cost cap when every call size is known', async () => {
    // Each call: at most 1,000 output tokens; the estimate covers input too, so the cap holds exactly.
    const chatty = {
      toolCalls: [{ name: 'lookup', args: { name: 'x' } }],
      usage: { inputTokens: 500, outputTokens: 1000 },
    };
    const cloud = new ScriptedChatModel({ replies: Array.from({ length: 50 }, () => chatty) });
    const router = createPolicyRouter({
      models: [{ model: poolModel({ provider: 'openai', model: 'gpt-4o', maxOutputTokens: 1000 }), chat: cloud }],
    });
    const cap = 0.05;
    const result = await run({
      goal: 'Look everyone up',
      agent: { ...agent, maxSteps: 50 },
      router,
      config: { ...offline, maxCostUsd: cap, maxSteps: 50 },
    }).result;
    expect(result.status).toBe('budget_exceeded');
    expect(result.costUsd).toBeLessThanOrEqual(cap);
    expect(result.steps).toBeGreaterThan(1);
  });

  it("escalates a task to the stronger model when the cheap model's answer fails the task's output schema", async () => {
    const { router, localChat, cloudChat } = twoModels(['{"value": "forty-two"}'], ['{"value": 42}'], {
      cascade: { extract: { models: ['ollama:llama3.1', 'openai:gpt-4o'], check: 'schema' } },
    });
    const roles = [
      {
        name: 'extractor',
        description: 'pulls values out',
        taskKind: 'extract',
        agent: { name: 'extractor', instructions: 'Extract.' },
      },
    ];
    const graph = {
      goal: 'g',
      tasks: [
        {
          id: 'v',
          title: 'value',
          instruction: 'Give the value',
          role: 'extractor',
          dependsOn: [],
          output: { schema: { type: 'object', properties: { value: { type: 'number' } }, required: ['value'] } },
        },
      ],
    };
    const { result, events } = await collect(
      run({ goal: 'g', roles, planner: new StaticPlanner(graph), router, config: offline }),
    );
    expect(result.status).toBe('completed');
    expect(result.tasks[0]).toMatchObject({ attempts: 1, output: { value: 42 }, model: 'gpt-4o' });
    expect([localChat.calls, cloudChat.calls]).toEqual([1, 1]);
    expect(ofType(events, 'model.routed').find((e) => e.change === 'escalate')?.reason).toContain('expected output');
  });
});
