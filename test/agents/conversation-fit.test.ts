import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run } from 'cadre';
import { ReActAgent } from 'cadre/agents';
import { createPolicyRouter, estimateMessageTokens, poolModel, type ModelRouter } from 'cadre/models';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { agentContext } from '../fixtures/agent-context.js';

const offline = { ollamaHost: 'http://127.0.0.1:2', databasePath: ':memory:' };
const leftOut = /^\[output of read_page left out to fit the context window: \d+ characters\]$/;

// Each page is ~1,000 tokens by the router's estimate, and names itself so the test can tell them apart.
const page = defineTool({
  name: 'read_page',
  description: 'reads a page',
  input: z.object({ n: z.number() }),
  effects: 'read',
  run: ({ n }) => `page ${n}: ${'x'.repeat(3_000)}`,
});

/** Reads `pages` pages one step at a time, then answers; keeps what each call was sent. */
function reader(pages: number, name = 'scripted') {
  const prompts: BaseMessage[][] = [];
  const model = new ScriptedChatModel({
    modelName: name,
    respond: ({ call, messages }) => {
      prompts.push([...messages]);
      return call < pages ? { toolCalls: [{ name: 'read_page', args: { n: call + 1 } }] } : 'read them all';
    },
  });
  return { model, prompts };
}

/** A run of one reading agent, through what users call. */
const readPages = (goal: string, via: { model: ScriptedChatModel } | { router: ModelRouter }, contextTokens?: number) =>
  run({
    goal,
    agent: { name: 'reader', instructions: 'Read.', tools: [page], ...(contextTokens ? { contextTokens } : {}) },
    ...via,
    config: offline,
  }).result;

const toolTexts = (messages: BaseMessage[]) =>
  messages.filter((m) => ToolMessage.isInstance(m)).map((m) => String(m.content));

describe('a ReAct conversation kept inside the context window', () => {
  it('leaves out the oldest tool outputs past the spec’s contextTokens, never the newest step’s', async () => {
    const { model, prompts } = reader(5);
    const result = await readPages('Read five pages', { model }, 2_500);

    expect(result.status).toBe('completed');
    expect(result.answer).toBe('read them all');
    expect(prompts).toHaveLength(6);
    for (const prompt of prompts) expect(estimateMessageTokens(prompt)).toBeLessThanOrEqual(2_500);
    // Call 3 still holds both pages whole; from call 4 on only the two newest are, the older ones a note.
    expect(toolTexts(prompts[2]!).every((t) => t.includes('x'.repeat(3_000)))).toBe(true);
    for (const [call, prompt] of prompts.entries()) {
      const texts = toolTexts(prompt);
      expect(texts).toHaveLength(call);
      const whole = texts.filter((t) => !leftOut.test(t));
      expect(whole.length).toBe(Math.min(call, 2));
      // The newest outputs are the whole ones, in order.
      whole.forEach((t, i) => expect(t).toContain(`page ${call - whole.length + i + 1}: `));
    }
    // What the model replied, and each call it made, is still all there.
    expect(prompts[5]!.filter((m) => m.getType() === 'ai')).toHaveLength(5);
  });

  it('takes the limit from the routed models’ smallest context window when the spec sets none', async () => {
    const big = reader(4, 'gpt-4o');
    const router = createPolicyRouter({
      models: [
        {
          model: poolModel({ provider: 'openai', model: 'gpt-4o', capabilities: { contextWindow: 4_000 } }),
          chat: big.model,
        },
        {
          model: poolModel({
            provider: 'anthropic',
            model: 'claude-sonnet-4',
            capabilities: { contextWindow: 200_000 },
          }),
          chat: reader(4, 'claude-sonnet-4').model,
        },
      ],
    });
    expect((await router.select({})).contextWindow).toBe(4_000);

    const result = await readPages('Read four pages', { router });
    expect(result.status).toBe('completed');
    expect(big.prompts).toHaveLength(5);
    // Three quarters of 4,000 is left for the prompt: room for two pages, not three.
    for (const prompt of big.prompts) expect(estimateMessageTokens(prompt)).toBeLessThanOrEqual(3_000);
    expect(toolTexts(big.prompts[3]!).filter((t) => leftOut.test(t))).toHaveLength(1);
    expect(toolTexts(big.prompts[4]!).filter((t) => leftOut.test(t))).toHaveLength(2);
  });

  it('stops with budget_exceeded when even the newest step does not fit, without calling the model', async () => {
    const { model, prompts } = reader(3);
    const agent = new ReActAgent({ name: 'reader', instructions: 'Read.', tools: [page], contextTokens: 800 });
    const context = agentContext(model, { runId: 'run_fit', maxSteps: 5 });
    const failure = await agent.run({ id: 't', instruction: 'Read three pages' }, context).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'budget_exceeded', details: { limit: 'context', max: 800 } });
    expect((failure as Error).message).toMatch(/more than the 800 it may send/);
    expect(prompts).toHaveLength(1);
  });

  it('sends the conversation unchanged when no limit is known', async () => {
    const { model, prompts } = reader(4);
    const result = await readPages('Read four pages', { model });
    expect(result.status).toBe('completed');
    expect(toolTexts(prompts[4]!).some((t) => leftOut.test(t))).toBe(false);
  });

  it('refuses a contextTokens that is not a positive whole number', () => {
    for (const contextTokens of [0, -5, 1.5])
      expect(() => new ReActAgent({ name: 'a', instructions: 'x', contextTokens })).toThrow(
        expect.objectContaining({ code: 'input_invalid', message: expect.stringMatching(/contextTokens/) }),
      );
  });
});
