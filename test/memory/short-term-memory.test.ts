import { AIMessage, HumanMessage, type BaseMessage } from '@langchain/core/messages';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { ScriptedChatModel } from 'cadre/testing';
import { ShortTermMemory } from '../../memory/short-term-memory.js';

const enc = getEncoding('cl100k_base');
const text = (m: BaseMessage) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
// Counted independently of the class: content tokens plus 4 per message.
const tokens = (ms: BaseMessage[]) => ms.reduce((n, m) => n + 4 + enc.encode(text(m)).length, 0);
const turn = (i: number) =>
  i % 2
    ? new AIMessage(`answer ${i}: ${'the cat sat on the mat '.repeat(3)}`)
    : new HumanMessage(`question ${i}: ${'where is the red ball '.repeat(3)}`);

describe('ShortTermMemory', () => {
  it('returns the messages unchanged while they fit the budget', async () => {
    const memory = new ShortTermMemory({ maxTokens: 1000 });
    const added = [0, 1, 2].map(turn);
    added.forEach((m) => memory.add(m));
    const out = await memory.messages();
    expect(out).toEqual(added);
    expect(out[0]).toBe(added[0]);
    expect(memory.tokenCount()).toBe(tokens(added));
    expect(memory.summary).toBeUndefined();
    expect(memory.dropped).toBe(0);
  });

  it('folds the oldest messages into a summary that comes first as a system message', async () => {
    const prompts: string[] = [];
    const summariser = new ScriptedChatModel({
      respond: ({ call, messages }) => {
        prompts.push(messages.map(text).join('\n'));
        return `summary ${call + 1}: the user asked where the ball is`;
      },
    });
    const memory = new ShortTermMemory({ maxTokens: 120, keepLast: 2, summariser });
    const added = Array.from({ length: 8 }, (_, i) => turn(i));
    expect(tokens(added)).toBeGreaterThan(120);
    added.forEach((m) => memory.add(m));
    const out = await memory.messages();
    expect(out[0]?.getType()).toBe('system');
    expect(text(out[0]!)).toContain(memory.summary!);
    expect(memory.summary).toMatch(/^summary \d: the user asked where the ball is$/);
    expect(out.slice(-2)).toEqual(added.slice(-2));
    expect(tokens(out)).toBeLessThanOrEqual(120);
    expect(memory.tokenCount()).toBe(tokens(out));
    expect(prompts[0]).toContain('question 0');
    expect(memory.dropped).toBe(0);

    // Later folds build on the previous summary rather than starting over.
    for (let i = 8; i < 12; i++) memory.add(turn(i));
    const later = await memory.messages();
    expect(prompts.at(-1)).toMatch(/Previous summary:\nsummary \d/);
    expect(later.slice(-2)).toEqual([turn(10), turn(11)]);
    expect(tokens(later)).toBeLessThanOrEqual(120);
  });

  it('keeps the last keepLast messages verbatim even when they alone exceed the budget', async () => {
    const summariser = new ScriptedChatModel({ respond: () => 'a summary' });
    const memory = new ShortTermMemory({ maxTokens: 30, keepLast: 2, summariser });
    const added = [0, 1, 2, 3].map(turn);
    added.forEach((m) => memory.add(m));
    const out = await memory.messages();
    expect(out).toEqual(added.slice(-2));
    expect(summariser.calls).toBeGreaterThan(0);
  });

  it('cuts a summary too long for the room left so the total stays within budget', async () => {
    const summariser = new ScriptedChatModel({ respond: () => 'long summary '.repeat(200) });
    const memory = new ShortTermMemory({ maxTokens: 100, keepLast: 1, summariser });
    [0, 1, 2, 3, 4].forEach((i) => memory.add(turn(i)));
    const out = await memory.messages();
    expect(out[0]?.getType()).toBe('system');
    expect(out.at(-1)).toEqual(turn(4));
    expect(tokens(out)).toBeLessThanOrEqual(100);
  });

  it('drops the oldest messages and counts them when there is no summariser', async () => {
    const memory = new ShortTermMemory({ maxTokens: 100, keepLast: 1 });
    const added = Array.from({ length: 6 }, (_, i) => turn(i));
    added.forEach((m) => memory.add(m));
    const out = await memory.messages();
    expect(out.every((m) => m.getType() !== 'system')).toBe(true);
    expect(out).toEqual(added.slice(added.length - out.length));
    expect(memory.dropped).toBe(added.length - out.length);
    expect(memory.dropped).toBeGreaterThan(0);
    expect(tokens(out)).toBeLessThanOrEqual(100);
    // Only the messages that had to go: one more would not have fitted.
    expect(tokens(added.slice(added.length - out.length - 1))).toBeGreaterThan(100);
  });

  it('rejects a budget that is not a positive integer', () => {
    expect(() => new ShortTermMemory({ maxTokens: 0 })).toThrow(expect.objectContaining({ code: 'input_invalid' }));
  });
});
