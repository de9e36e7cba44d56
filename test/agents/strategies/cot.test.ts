import { describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { cot, extractAnswer } from 'cadre/agents';
import { ScriptedChatModel } from 'cadre/testing';
import { strategyContext, strategyEvents } from './strategy-context.js';

describe('cot', () => {
  it('answers from the Answer line of one reasoning pass, routed as a reason task', async () => {
    const model = new ScriptedChatModel({ replies: ['6 times 7: 6 * 7 = 42.\nAnswer: 42'] });
    const ctx = strategyContext(model);

    const result = await cot().run({ id: 'q', instruction: 'What is 6 times 7?' }, ctx);

    expect(result.answer).toBe('42');
    expect(result.steps).toBe(1);
    expect(model.calls).toBe(1);
    expect(ctx.routed.map((r) => r.taskKind)).toEqual(['reason']);
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(ctx.seen.filter((e) => e.type === 'model.response')).toHaveLength(1);
    expect(strategyEvents(ctx.seen, 'strategy.decided')).toEqual([
      expect.objectContaining({ strategy: 'cot', answer: '42', calls: 1, taskId: 'q' }),
    ]);
  });

  it('uses a given extractor and task kind, and keeps the whole reply when no answer is found', async () => {
    const model = new ScriptedChatModel({ replies: ['The result is <42>.', 'No marked answer here.'] });
    const ctx = strategyContext(model);
    const marked = cot({ extract: (reply) => /<(.+?)>/.exec(reply)?.[1], taskKind: 'code' });

    expect((await marked.run({ id: 'a', instruction: 'x' }, ctx)).answer).toBe('42');
    expect((await marked.run({ id: 'b', instruction: 'y' }, ctx)).answer).toBe('No marked answer here.');
    expect(ctx.routed.map((r) => r.taskKind)).toEqual(['code', 'code']);
  });

  it('extractAnswer takes the last Answer line, with or without markdown emphasis', () => {
    expect(extractAnswer('Answer: 1\nthinking again\n**Final answer:** 2')).toBe('2');
    expect(extractAnswer('no answer')).toBeUndefined();
  });

  it('rejects a bad name with input_invalid naming the field', () => {
    const error = (() => {
      try {
        cot({ name: 'has spaces' });
      } catch (e) {
        return e;
      }
    })();
    expect(CadreError.isInstance(error) && error.code).toBe('input_invalid');
    expect((error as Error).message).toMatch(/name:/);
  });
});
