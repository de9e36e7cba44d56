import { describe, expect, it } from 'vitest';
import { treeOfThoughts, treeOfThoughtsMaxCalls } from 'cadre/agents';
import { ScriptedChatModel, checkGame24, game24Model, game24Task } from 'cadre/testing';
import { strategyContext, strategyEvents } from './strategy-context.js';

const stepsOf = (prompt: string) => {
  const lines = prompt.split('Steps so far:\n')[1]?.split('\n\n')[0]?.split('\n') ?? [];
  return lines.filter((l) => l && l !== '(none)');
};

/**
 * Proposes six first steps, the one that leads to the answer at `position`; values every partial
 * solution "likely", so the search keeps first steps in the order proposed.
 */
function planted(position: number) {
  return new ScriptedChatModel({
    respond: ({ task }) => {
      const steps = stepsOf(task);
      if (/Propose up to/.test(task)) {
        if (steps.length === 0)
          return Array.from({ length: 6 }, (_, i) => (i + 1 === position ? 'use the key' : `try door ${i + 1}`)).join(
            '\n',
          );
        return steps[0] === 'use the key' ? 'Answer: open' : 'look around';
      }
      return `Considering it.\n${steps.at(-1)?.startsWith('Answer:') ? 'sure' : 'likely'}`;
    },
  });
}

describe('treeOfThoughts', () => {
  it('finds the answer when the proposer lists the right step within the breadth', async () => {
    const ctx = strategyContext(planted(3));
    const result = await treeOfThoughts({ breadth: 3, depth: 2 }).run({ id: 't', instruction: 'Open the box.' }, ctx);
    expect(result.answer).toBe('open');

    // The tree is in the events: the first steps beyond the breadth are pruned, the answer hangs off r.3.
    const nodes = strategyEvents(ctx.seen, 'strategy.node');
    const status = Object.fromEntries(nodes.map((n) => [n.node, n.status]));
    expect(status).toMatchObject({ 'r.1': 'kept', 'r.3': 'kept', 'r.4': 'pruned', 'r.6': 'pruned', 'r.3.1': 'answer' });
    expect(nodes.find((n) => n.node === 'r.3.1')).toMatchObject({ parent: 'r.3', depth: 2, text: 'Answer: open' });
    const ids = new Set(['r', ...nodes.map((n) => n.node)]);
    for (const node of nodes) expect(ids.has(node.parent as string)).toBe(true);
    expect(ctx.routed.map((r) => r.taskKind).sort()).toEqual(['classify', 'reason']);
  });

  it('fails when the right step is proposed beyond the breadth', async () => {
    const ctx = strategyContext(planted(4));
    await expect(
      treeOfThoughts({ breadth: 3, depth: 2 }).run({ id: 't', instruction: 'Open the box.' }, ctx),
    ).rejects.toMatchObject({ code: 'task_failed', details: { nodes: 9 } });
    expect(strategyEvents(ctx.seen, 'strategy.decided')).toEqual([expect.objectContaining({ solved: false })]);
  });

  it('solves Game of 24 puzzles when the proposer always offers a step toward 24', async () => {
    for (const numbers of [
      [4, 9, 10, 13],
      [3, 3, 8, 8],
      [1, 5, 5, 5],
    ]) {
      for (const search of ['bfs', 'dfs'] as const) {
        const ctx = strategyContext(game24Model({ accuracy: 1, seed: 5 }));
        const result = await treeOfThoughts({ search }).run({ id: 'g', instruction: game24Task(numbers) }, ctx);
        expect(checkGame24(result.answer, numbers), `${search} ${numbers.join(' ')}: ${result.answer}`).toBe(true);
      }
    }
  });

  it('fails at Game of 24 when no proposed step can reach 24 and the evaluator says so', async () => {
    const ctx = strategyContext(game24Model({ accuracy: 0, valueAccuracy: 1, seed: 5 }));
    await expect(
      treeOfThoughts({ breadth: 5 }).run({ id: 'g', instruction: game24Task([4, 9, 10, 13]) }, ctx),
    ).rejects.toMatchObject({ code: 'task_failed' });
  });

  it('makes as many calls as its bound says when nothing is pruned and no answer ends the search', async () => {
    // Every thought new and "likely": each level keeps `breadth` nodes, and each is expanded.
    const endless = () =>
      new ScriptedChatModel({
        respond: ({ task, call }) =>
          /Propose up to (\d+)/.test(task)
            ? Array.from({ length: 3 }, (_, i) => `idea ${call}-${i}`).join('\n')
            : 'Maybe.\nlikely',
      });
    for (const search of ['bfs', 'dfs'] as const) {
      const options = { search, breadth: 2, depth: 3, propose: { count: 3 } };
      const model = endless();
      await expect(
        treeOfThoughts(options).run({ id: 't', instruction: 'Think.' }, strategyContext(model)),
      ).rejects.toMatchObject({ code: 'task_failed' });
      // bfs: (1 + 3) at the root, then 2 nodes x (1 + 3) on each of two levels; dfs: 1 + 2 + 4 nodes x (1 + 3).
      expect(model.calls, search).toBe(search === 'bfs' ? 20 : 28);
      expect(treeOfThoughtsMaxCalls(options), search).toBe(model.calls);
    }
    expect(treeOfThoughtsMaxCalls({ breadth: 5 })).toBe(144);
  });

  it('averages several evaluations of each node, one call each', async () => {
    const model = planted(1);
    const ctx = strategyContext(model);
    const result = await treeOfThoughts({ breadth: 2, depth: 2, propose: { count: 6 }, evaluate: { samples: 3 } }).run(
      { id: 't', instruction: 'Open the box.' },
      ctx,
    );
    expect(result.answer).toBe('open');
    // 1 + 2 proposals; 6 first steps and 2 second steps valued 3 times each.
    expect(model.calls).toBe(3 + (6 + 2) * 3);
    expect(result.steps).toBe(model.calls);
  });
});
