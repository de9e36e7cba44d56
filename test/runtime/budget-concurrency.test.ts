import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Budget, run } from 'cadre';
import { createPolicyRouter, poolModel } from 'cadre/models';
import { StaticPlanner } from 'cadre/planners';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel, type ScriptContext, type ScriptedReply } from 'cadre/testing';
import { CadreError } from '../../src/core/index.js';

const offline = { ollamaHost: 'http://127.0.0.1:2', databasePath: ':memory:' };
const note = defineTool({
  name: 'note',
  description: 'notes a value',
  input: z.object({ v: z.number() }),
  effects: 'read',
  run: ({ v }) => `noted ${v}`,
});

/**
 * A priced cloud model whose calls stay within their known size: input no more than the prompt
 * (the estimate errs high at three characters a token) and output no more than `maxOutput`.
 * `steps` tool calls per task, then an answer; it fails now and then, so fallbacks happen.
 */
function scripted(name: string, maxOutput: number, steps: number, failEvery: number) {
  let n = 0;
  return new ScriptedChatModel({
    modelName: name,
    latencyMs: [0, 4],
    respond: ({ messages }: ScriptContext): ScriptedReply => {
      n += 1;
      if (failEvery > 0 && n % failEvery === 0) return { error: new CadreError('provider_error', 'HTTP 503') };
      const input = Math.ceil(messages.reduce((sum, m) => sum + String(m.content).length, 0) / 4);
      const turn = messages.filter((m) => m.getType() === 'ai').length;
      const usage = { inputTokens: input, outputTokens: maxOutput };
      return turn < steps ? { toolCalls: [{ name: 'note', args: { v: turn } }], usage } : { content: 'done', usage };
    },
  });
}

describe('budgets under parallel tasks', () => {
  it('with known call sizes, final cost and tokens never pass their caps at any concurrency, with fallbacks and multi-step tasks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }), // tasks in parallel
        fc.integer({ min: 1, max: 8 }), // concurrency
        fc.integer({ min: 0, max: 3 }), // tool steps per task
        fc.integer({ min: 0, max: 4 }), // the first model fails every n-th call (0: never)
        fc.double({ min: 0.002, max: 0.2, noNaN: true }), // cost cap, USD
        fc.option(fc.integer({ min: 2_000, max: 60_000 }), { nil: undefined }), // token cap
        async (width, concurrency, steps, failEvery, maxCostUsd, maxTokens) => {
          const router = createPolicyRouter({
            models: [
              {
                model: poolModel({ provider: 'openai', model: 'gpt-4o', maxOutputTokens: 400 }),
                chat: scripted('gpt-4o', 400, steps, failEvery),
              },
              {
                model: poolModel({ provider: 'anthropic', model: 'claude-sonnet-4', maxOutputTokens: 300 }),
                chat: scripted('claude-sonnet-4', 300, steps, 0),
              },
            ],
          });
          const tasks = Array.from({ length: width }, (_, i) => ({
            id: `t${i}`,
            title: `t${i}`,
            instruction: `Work on part ${i}.`,
            role: 'worker',
            dependsOn: [],
          }));
          const roles = [
            {
              name: 'worker',
              description: 'works',
              agent: { name: 'worker', instructions: 'Work.', tools: [note], maxSteps: 10 },
            },
          ];
          const result = await run({
            goal: 'parallel work',
            roles,
            planner: new StaticPlanner({ goal: 'parallel work', tasks }),
            router,
            config: {
              ...offline,
              concurrency,
              maxCostUsd,
              ...(maxTokens ? { maxTokens } : {}),
              failurePolicy: 'continue',
            },
          }).result;
          expect(result.costUsd).toBeLessThanOrEqual(maxCostUsd + 1e-12);
          if (maxTokens) expect(result.usage.totalTokens).toBeLessThanOrEqual(maxTokens);
          // The same figures the per-model spend reports.
          expect(result.models.reduce((sum, m) => sum + m.costUsd, 0)).toBeCloseTo(result.costUsd, 9);
        },
      ),
      { numRuns: 60, seed: 20261206 },
    );
  }, 120_000);

  it('holds what calls in flight may spend: a second call is refused while the first holds the rest of the cap', () => {
    const budget = new Budget({ maxCostUsd: 1 });
    const first = budget.beforeStep({ costUsd: 0.6 });
    expect(() => budget.beforeStep({ costUsd: 0.6 })).toThrow(expect.objectContaining({ code: 'budget_exceeded' }));
    // Settling for less than the hold frees the difference.
    first.settle({ inputTokens: 1, outputTokens: 1, totalTokens: 2 }, 0.2);
    const second = budget.beforeStep({ costUsd: 0.6 });
    second.release();
    expect(budget.spend().costUsd).toBeCloseTo(0.2, 12);
    expect(budget.remainingCostUsd()).toBeCloseTo(0.8, 12);
  });

  it('stops at the first call that reports more than its bound and says by how much', async () => {
    const liar = new ScriptedChatModel({
      replies: Array.from({ length: 5 }, () => ({
        toolCalls: [{ name: 'note', args: { v: 1 } }],
        usage: { inputTokens: 100, outputTokens: 20_000 },
      })),
    });
    const router = createPolicyRouter({
      models: [{ model: poolModel({ provider: 'openai', model: 'gpt-4o', maxOutputTokens: 100 }), chat: liar }],
    });
    const result = await run({
      goal: 'g',
      agent: { name: 'a', instructions: 'x', tools: [note] },
      router,
      config: { ...offline, maxCostUsd: 0.1 },
    }).result;
    expect(result.status).toBe('budget_exceeded');
    expect(liar.calls).toBe(1);
    expect(result.error?.message).toMatch(/over its limit 0\.1 by 0\.1002/);
  });
});
