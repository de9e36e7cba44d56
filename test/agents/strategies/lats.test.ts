import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { functionEvaluator, lats } from 'cadre/agents';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel, type ScriptContext, type ScriptedReply } from 'cadre/testing';
import { strategyContext, strategyEvents } from './strategy-context.js';

function tools() {
  const ran = { save_file: 0, lookup: 0 };
  const saveFile = defineTool({
    name: 'save_file',
    description: 'Saves a file.',
    input: z.object({ name: z.string() }),
    effects: 'write',
    run: ({ name }) => {
      ran.save_file += 1;
      return `saved ${name}`;
    },
  });
  const lookup = defineTool({
    name: 'lookup',
    description: 'Looks a word up.',
    input: z.object({ word: z.string() }),
    effects: 'read',
    run: ({ word }) => {
      ran.lookup += 1;
      return `${word}: a thing`;
    },
  });
  return { ran, list: [saveFile, lookup] };
}

/** Judging, valuing and reflecting prompts get fixed replies; trajectory steps go to `act`. */
const script = (act: (c: ScriptContext) => ScriptedReply) =>
  new ScriptedChatModel({
    respond: (c) => {
      if (c.task.includes('Proposed answer:')) return 'Not quite.\n3';
      if (c.task.includes('Trajectory so far:')) return 'Promising.\n6';
      if (c.task.includes('say what to do differently')) return 'Look the word up before answering.';
      return act(c);
    },
  });

describe('lats', () => {
  it('never executes a write tool while it explores; the model is told the call was not executed', async () => {
    const { ran, list } = tools();
    const seenResults: string[] = [];
    const model = script((c) => {
      seenResults.push(...c.toolResults.map((r) => `${r.name}: ${r.content}`));
      return c.messages.some((m) => m.getType() === 'tool')
        ? 'Answer: saved'
        : {
            toolCalls: [
              { name: 'save_file', args: { name: 'out.txt' } },
              { name: 'lookup', args: { word: 'box' } },
            ],
          };
    });
    const ctx = strategyContext(model);

    const result = await lats({ tools: list, iterations: 4, expand: 2 }).run(
      { id: 't', instruction: 'Save a file.' },
      ctx,
    );

    expect(result.answer).toBe('saved');
    expect(ran.save_file).toBe(0);
    expect(ran.lookup).toBeGreaterThan(0);
    expect(seenResults.filter((r) => r.startsWith('save_file')).every((r) => r.includes('Not executed'))).toBe(true);
    const writes = ctx.seen.filter((e) => e.type === 'tool.result' && e.tool === 'save_file');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((e) => e.type === 'tool.result' && !e.ok && e.error?.code === 'tool_denied')).toBe(true);

    // The same search with writes allowed does run the tool: the check above can fail.
    const allowed = tools();
    await lats({ tools: allowed.list, iterations: 4, expand: 2, rollout: { writes: 'allow' } }).run(
      { id: 't', instruction: 'Save a file.' },
      strategyContext(
        script((c) =>
          c.messages.some((m) => m.getType() === 'tool')
            ? 'Answer: saved'
            : { toolCalls: [{ name: 'save_file', args: { name: 'out.txt' } }] },
        ),
      ),
    );
    expect(allowed.ran.save_file).toBeGreaterThan(0);
  });

  it('reflects on a failed answer and finds a passing one with the lesson in view', async () => {
    const { list } = tools();
    const model = script((c) => {
      if (!c.messages.some((m) => m.getType() === 'tool'))
        return { toolCalls: [{ name: 'lookup', args: { word: 'box' } }] };
      const system = String(c.messages[0]?.content);
      return system.includes('Lessons from failed attempts') ? 'Answer: B' : 'Answer: A';
    });
    const ctx = strategyContext(model);
    const evaluator = functionEvaluator((answer) => (answer === 'B' ? true : 'wrong letter'));

    const result = await lats({ tools: list, iterations: 5, expand: 2, evaluator }).run(
      { id: 't', instruction: 'Pick a letter.' },
      ctx,
    );

    expect(result.answer).toBe('B');
    const nodes = strategyEvents(ctx.seen, 'strategy.node');
    const reflected = nodes.find((n) => n.status === 'reflected');
    expect(reflected).toMatchObject({ text: 'Look the word up before answering.' });
    expect(nodes.filter((n) => n.status === 'failed').map((n) => n.text)).toContain('Answer: A');
    expect(nodes.find((n) => n.status === 'answer')).toMatchObject({ text: 'Answer: B' });
    expect(strategyEvents(ctx.seen, 'strategy.decided')).toEqual([
      expect.objectContaining({ answer: 'B', solved: true }),
    ]);
    expect(ctx.routed.map((r) => r.taskKind).sort()).toEqual(['agent', 'classify', 'reflect']);
  });

  it('fails with task_failed when no trajectory answers', async () => {
    const { list } = tools();
    const model = script(() => ({ toolCalls: [{ name: 'lookup', args: { word: 'box' } }] }));
    await expect(
      lats({ tools: list, iterations: 3, expand: 2, maxDepth: 2 }).run(
        { id: 't', instruction: 'q' },
        strategyContext(model),
      ),
    ).rejects.toMatchObject({ code: 'task_failed' });
  });
});
