import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { ScriptedChatModel } from 'cadre/testing';

describe('ScriptedChatModel', () => {
  it('replays replies in order, with parallel tool calls and estimated usage', async () => {
    const model = new ScriptedChatModel({
      replies: [{ content: 'two at once', toolCalls: [{ name: 'a', args: { x: 1 } }, { name: 'b' }] }, 'done'],
    });
    const first = await model.invoke([new HumanMessage('go')]);
    expect(first.tool_calls?.map((c) => [c.id, c.name, c.args])).toEqual([
      ['call_1_1', 'a', { x: 1 }],
      ['call_1_2', 'b', {}],
    ]);
    expect(first.usage_metadata?.input_tokens).toBe(1);
    expect(first.usage_metadata?.output_tokens).toBe(3 + 20);
    expect((await model.invoke([new HumanMessage('go')])).content).toBe('done');
    await expect(model.invoke([new HumanMessage('more')])).rejects.toThrow(/no reply for call 3/);
  });

  it('answers from the conversation in function mode and sees bound tool names', async () => {
    const model = new ScriptedChatModel({
      respond: ({ task, tools, call }) => `${call}:${task}:${tools.join(',')}`,
    });
    const bound = model.bindTools([{ type: 'function', function: { name: 'search', parameters: {} } }]);
    const reply = await bound.invoke([new SystemMessage('sys'), new HumanMessage('find cats')]);
    expect(reply.content).toBe('0:find cats:search');
  });

  it('uses the usage the script gives', async () => {
    const model = new ScriptedChatModel({ replies: [{ content: 'x', usage: { inputTokens: 100, outputTokens: 7 } }] });
    expect((await model.invoke('q')).usage_metadata).toEqual({
      input_tokens: 100,
      output_tokens: 7,
      total_tokens: 107,
    });
  });

  it('simulates latency and stops waiting when aborted', async () => {
    const model = new ScriptedChatModel({ replies: ['slow'], latencyMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    await expect(model.invoke('q', { signal: controller.signal })).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('needs a script', () => {
    expect(() => new ScriptedChatModel({})).toThrow(expect.objectContaining({ code: 'input_invalid' }));
  });
});
