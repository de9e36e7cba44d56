import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InMemoryStepJournal, type CadreEvent } from 'cadre';
import { ReActAgent } from 'cadre/agents';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { agentContext } from '../fixtures/agent-context.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const context = (model: ScriptedChatModel, journal = new InMemoryStepJournal(), runId = 'run_t') =>
  agentContext(model, { journal, runId });

function slowTools(log: string[]) {
  const make = (name: string, value: string) =>
    defineTool({
      name,
      description: `returns ${value}`,
      input: z.object({ q: z.string() }),
      effects: 'read',
      run: async ({ q }) => {
        log.push(`start ${name}`);
        await sleep(40);
        log.push(`end ${name}`);
        return `${value}:${q}`;
      },
    });
  return [make('weather', 'sunny'), make('news', 'calm')];
}

describe('ReActAgent', () => {
  it('calls two tools in parallel in one step, then answers from their results', async () => {
    const log: string[] = [];
    const model = new ScriptedChatModel({
      respond: ({ toolResults }) =>
        toolResults.length === 0
          ? {
              toolCalls: [
                { name: 'weather', args: { q: 'Oslo' } },
                { name: 'news', args: { q: 'Oslo' } },
              ],
            }
          : `Report: ${toolResults.map((r) => r.content).join(' and ')}`,
    });
    const agent = new ReActAgent({ name: 'reporter', instructions: 'Use tools.', tools: slowTools(log) });
    const ctx = context(model);
    const seen: CadreEvent[] = [];
    ctx.events.on('*', (e) => seen.push(e));

    const result = await agent.run({ id: 'main', instruction: 'Weather and news in Oslo?' }, ctx);

    expect(result.answer).toBe('Report: sunny:Oslo and calm:Oslo');
    expect(result.steps).toBe(2);
    expect(model.calls).toBe(2);
    // Both tools started before either finished: they ran at the same time.
    expect(log.slice(0, 2).sort()).toEqual(['start news', 'start weather']);
    const types = seen.map((e) => e.type);
    expect(types.filter((t) => t === 'tool.called')).toHaveLength(2);
    expect(types.indexOf('model.routed')).toBeLessThan(types.indexOf('model.response'));
    expect(result.usage.totalTokens).toBeGreaterThan(0);
  });

  it('replays a task from its journal without calling the model or any tool again', async () => {
    const log: string[] = [];
    const tools = slowTools(log);
    const script = new ScriptedChatModel({
      replies: [
        {
          toolCalls: [
            { name: 'weather', args: { q: 'Rome' } },
            { name: 'news', args: { q: 'Rome' } },
          ],
        },
        { toolCalls: [{ name: 'weather', args: { q: 'Paris' } }] },
        'Rome is sunny and calm; Paris is sunny.',
      ],
    });
    const journal = new InMemoryStepJournal();
    const agent = new ReActAgent({ name: 'reporter', instructions: 'Use tools.', tools });
    const first = await agent.run({ id: 'main', instruction: 'Rome and Paris?' }, context(script, journal));
    const toolRunsBefore = log.length;

    const mustNotBeCalled = new ScriptedChatModel({
      replies: [{ error: new Error('the model was called during replay') }],
    });
    const ctx = context(mustNotBeCalled, journal);
    const replayedEvents: CadreEvent[] = [];
    ctx.events.on('*', (e) => replayedEvents.push(e));
    const second = await new ReActAgent({ name: 'reporter', instructions: 'Use tools.', tools }).run(
      { id: 'main', instruction: 'Rome and Paris?' },
      ctx,
    );

    expect(second.answer).toBe(first.answer);
    expect(mustNotBeCalled.calls).toBe(0);
    expect(log.length).toBe(toolRunsBefore);
    expect(second.replayedSteps).toBe(3);
    expect(
      replayedEvents.filter((e) => e.type === 'tool.result').every((e) => e.type === 'tool.result' && e.replayed),
    ).toBe(true);
  });

  it('continues from a partial journal: recorded steps are replayed, the rest run live', async () => {
    const journal = new InMemoryStepJournal();
    const log: string[] = [];
    const tools = slowTools(log);
    const replies = [{ toolCalls: [{ name: 'weather', args: { q: 'Lima' } }] }, 'Lima is sunny.'];
    // First attempt dies after the first step (e.g. a crash), leaving one model step and one tool step.
    const crashing = new ScriptedChatModel({ replies: [replies[0]!, { error: new Error('process died') }] });
    const agent = new ReActAgent({ name: 'r', instructions: 'i', tools });
    await expect(agent.run({ id: 'main', instruction: 'Lima?' }, context(crashing, journal))).rejects.toThrow();
    // The resumed model answers whatever it is shown; what it is shown proves the replay.
    const seen: string[][] = [];
    const resumed = new ScriptedChatModel({
      respond: ({ messages }) => {
        seen.push(messages.map((m) => m.getType()));
        return 'Lima is sunny.';
      },
    });
    const ctx = context(resumed, journal);
    const result = await agent.run({ id: 'main', instruction: 'Lima?' }, ctx);
    expect(result.answer).toBe('Lima is sunny.');
    expect(result.replayedSteps).toBe(1);
    // One live call, made for step 2: the model never saw the first turn as a question, only its record.
    expect(seen).toEqual([['system', 'human', 'ai', 'tool']]);
    expect(
      ctx.events
        .history()
        .filter((e) => e.type === 'model.response')
        .map((e) => (e as { replayed: boolean }).replayed),
    ).toEqual([true, false]);
    expect(log.filter((l) => l.startsWith('start'))).toHaveLength(1);
  });

  it('hands a bad tool argument back to the model as an error and still finishes', async () => {
    const model = new ScriptedChatModel({
      respond: ({ call, toolResults }) => {
        if (call === 0) return { toolCalls: [{ name: 'weather', args: { q: 42 } }] };
        if (call === 1) {
          expect(toolResults[0]?.content).toMatch(/tool_args_invalid/);
          expect(toolResults[0]?.content).toMatch(/q/);
          return { toolCalls: [{ name: 'weather', args: { q: 'Kyiv' } }] };
        }
        return `Fixed it: ${toolResults[0]?.content}`;
      },
    });
    const agent = new ReActAgent({ name: 'r', instructions: 'i', tools: slowTools([]) });
    const ctx = context(model);
    const results: CadreEvent[] = [];
    ctx.events.on('tool.result', (e) => results.push(e));
    const result = await agent.run({ id: 'main', instruction: 'Kyiv?' }, ctx);
    expect(result.answer).toBe('Fixed it: sunny:Kyiv');
    expect(results.map((e) => e.type === 'tool.result' && e.ok)).toEqual([false, true]);
  });

  it('stops with budget_exceeded at its own step limit', async () => {
    const model = new ScriptedChatModel({ respond: () => ({ toolCalls: [{ name: 'weather', args: { q: 'x' } }] }) });
    const agent = new ReActAgent({ name: 'r', instructions: 'i', tools: slowTools([]), maxSteps: 2 });
    await expect(agent.run({ id: 'main', instruction: 'loop' }, context(model))).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
    expect(model.calls).toBe(2);
  });
});
