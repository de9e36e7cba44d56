import { HumanMessage, SystemMessage, type AIMessageChunk } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { ScriptedChatModel, type ScriptedReply } from 'cadre/testing';

async function streamed(model: ScriptedChatModel, signal?: AbortSignal) {
  const chunks: AIMessageChunk[] = [];
  const at: number[] = [];
  for await (const chunk of await model.stream([new HumanMessage('go')], signal ? { signal } : {})) {
    chunks.push(chunk);
    at.push(performance.now());
  }
  return { chunks, at, whole: chunks.reduce((all, c) => all.concat(c)) };
}

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

  describe('streaming', () => {
    const reply: ScriptedReply = {
      content: 'The weather in Oslo is mild today.',
      toolCalls: [
        { name: 'weather', args: { city: 'Oslo', days: 3 } },
        { name: 'news', args: { topic: 'weather' } },
      ],
    };

    it('streams the reply invoke gives, text and tool calls in several chunks each', async () => {
      const whole = await new ScriptedChatModel({ replies: [reply] }).invoke([new HumanMessage('go')]);
      const { chunks, whole: joined } = await streamed(new ScriptedChatModel({ replies: [reply], chunkSize: 5 }));
      const text = chunks.filter((c) => c.content !== '');
      expect(text.map((c) => c.content)).toEqual(['The w', 'eathe', 'r in ', 'Oslo ', 'is mi', 'ld to', 'day.']);
      expect(joined.content).toBe(whole.content);
      expect(joined.tool_calls).toEqual(whole.tool_calls);
      expect(joined.usage_metadata).toMatchObject(whole.usage_metadata!);
      expect(joined.response_metadata).toMatchObject({ model_name: 'scripted' });
      // Each tool call's argument JSON is split; only its first piece names the call.
      const pieces = chunks.flatMap((c) => c.tool_call_chunks ?? []);
      const first = pieces.filter((p) => p.index === 0);
      expect(first.length).toBe(Math.ceil(JSON.stringify({ city: 'Oslo', days: 3 }).length / 5));
      expect(first[0]).toMatchObject({ id: 'call_1_1', name: 'weather', args: '{"cit' });
      expect(first.slice(1).every((p) => p.id === undefined && p.name === undefined)).toBe(true);
      expect(first.map((p) => p.args).join('')).toBe('{"city":"Oslo","days":3}');
      // Usage rides on one chunk only, so concatenation does not count it twice.
      expect(chunks.filter((c) => c.usage_metadata).length).toBe(1);
    });

    it('waits chunkDelayMs before each chunk, and stops when aborted mid-stream', async () => {
      const model = new ScriptedChatModel({ replies: ['abcdefgh', 'abcdefgh'], chunkSize: 2, chunkDelayMs: 25 });
      const started = performance.now();
      const { at } = await streamed(model);
      expect(at.length).toBe(4);
      expect(at[0]! - started).toBeGreaterThanOrEqual(20);
      expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(3 * 25 - 5);

      const controller = new AbortController();
      const seen: unknown[] = [];
      const reading = (async () => {
        for await (const chunk of await model.stream('go', { signal: controller.signal })) {
          seen.push(chunk.content);
          controller.abort();
        }
      })();
      await expect(reading).rejects.toThrow();
      expect(seen).toEqual(['ab']);
    });

    it('fails before the first chunk when the script says so', async () => {
      const model = new ScriptedChatModel({ replies: [{ error: new Error('scripted failure') }] });
      const { chunks } = await streamed(model).catch((error: Error) => ({ chunks: [error.message] }));
      expect(chunks).toEqual(['scripted failure']);
    });

    it('streams an empty reply as one chunk with its usage', async () => {
      const { chunks } = await streamed(new ScriptedChatModel({ replies: [''] }));
      expect(chunks.length).toBe(1);
      expect(chunks[0]!.usage_metadata?.total_tokens).toBeGreaterThan(0);
    });

    it('rejects a chunk size or delay that makes no sense', () => {
      for (const bad of [{ chunkSize: 0 }, { chunkSize: 1.5 }, { chunkDelayMs: -1 }, { chunkDelayMs: Number.NaN }])
        expect(() => new ScriptedChatModel({ replies: ['x'], ...bad })).toThrow(
          expect.objectContaining({ code: 'input_invalid' }),
        );
    });
  });
});
