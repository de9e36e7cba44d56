import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Budget, openCadreStore, type StepJournal } from 'cadre';
import { cot, lats, selfConsistency, treeOfThoughts, type Agent } from 'cadre/agents';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel, game24Model, game24Task } from 'cadre/testing';
import { strategyContext } from './strategy-context.js';

const puzzle = game24Task([4, 9, 10, 13]);
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up.',
  input: z.object({ word: z.string() }),
  effects: 'read',
  run: ({ word }) => `${word}: a thing`,
});
/** A LATS trajectory: look up, then answer; judged wrong, so the search reflects and goes on. */
const latsModel = () =>
  new ScriptedChatModel({
    respond: (c) => {
      if (c.task.includes('Proposed answer:')) return '4';
      if (c.task.includes('Trajectory so far:')) return '6';
      if (c.task.includes('say what to do differently')) return 'Check twice.';
      return c.messages.some((m) => m.getType() === 'tool')
        ? 'Answer: A'
        : { toolCalls: [{ name: 'lookup', args: { word: 'box' } }] };
    },
  });

/** Each strategy with a model it can run on offline, and the instruction it gets. */
const cases: Array<{
  name: string;
  agent: () => Agent;
  model: () => BaseChatModel & { calls: number };
  instruction: string;
}> = [
  { name: 'cot', agent: () => cot(), model: () => game24Model({ accuracy: 0.5, seed: 2 }), instruction: puzzle },
  {
    name: 'selfConsistency',
    agent: () => selfConsistency({ samples: 7 }),
    model: () => game24Model({ accuracy: 0.5, seed: 2 }),
    instruction: puzzle,
  },
  {
    name: 'treeOfThoughts (bfs)',
    agent: () => treeOfThoughts({ breadth: 3 }),
    model: () => game24Model({ accuracy: 1, valueAccuracy: 0.9, seed: 2 }),
    instruction: puzzle,
  },
  {
    name: 'treeOfThoughts (dfs)',
    agent: () => treeOfThoughts({ search: 'dfs', breadth: 3 }),
    model: () => game24Model({ accuracy: 1, valueAccuracy: 0.9, seed: 2 }),
    instruction: puzzle,
  },
  {
    name: 'lats',
    agent: () => lats({ tools: [lookup], iterations: 4, expand: 2 }),
    model: latsModel,
    instruction: 'q',
  },
];

const journal = (): StepJournal => openCadreStore({ path: ':memory:' }).steps;
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('strategies replay their journal', () => {
  for (const { name, agent, model, instruction } of cases) {
    it(`${name}: a rerun on the same SQLite journal makes no model call and gives the same answer`, async () => {
      const steps = journal();
      const first = await agent().run({ id: 't', instruction }, strategyContext(model(), { journal: steps }));
      expect(first.steps).toBeGreaterThan(0);
      expect(first.replayedSteps).toBe(0);

      const again = model();
      const ctx = strategyContext(again, { journal: steps });
      const second = await agent().run({ id: 't', instruction }, ctx);

      expect(again.calls).toBe(0);
      expect(second.answer).toBe(first.answer);
      expect(second.steps).toBe(first.steps);
      expect(second.replayedSteps).toBe(first.steps);
      // Replayed calls are on record as such, and took no budget.
      expect(
        ctx.seen.filter((e) => e.type === 'model.response').every((e) => e.type === 'model.response' && e.replayed),
      ).toBe(true);
      expect(ctx.budget.spend().steps).toBe(0);
    });

    // cot makes one call, which cannot be cut in two.
    if (name === 'cot') continue;
    it(`${name}: a run stopped part-way resumes without asking any recorded call again`, async () => {
      const clean = model();
      const reference = await agent().run({ id: 't', instruction }, strategyContext(clean, { journal: journal() }));
      const steps = journal();
      const cut = model();
      const limit = Math.max(1, Math.floor(clean.calls / 2));
      await expect(
        agent().run(
          { id: 't', instruction },
          strategyContext(cut, { journal: steps, budget: new Budget({ maxSteps: limit }) }),
        ),
      ).rejects.toMatchObject({ code: 'budget_exceeded' });
      await settle();

      const rest = model();
      const resumed = await agent().run({ id: 't', instruction }, strategyContext(rest, { journal: steps }));

      // Every call the stopped run made is replayed, none is made twice.
      expect(resumed.replayedSteps).toBe(cut.calls);
      expect(rest.calls).toBe(resumed.steps - resumed.replayedSteps);
      if (name !== 'selfConsistency') {
        // Replies that depend on the prompt alone: the resumed run is the run that was not stopped.
        expect(resumed.answer).toBe(reference.answer);
        expect(cut.calls + rest.calls).toBe(clean.calls);
      }
    });
  }
});
