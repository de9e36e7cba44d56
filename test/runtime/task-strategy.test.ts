import { describe, expect, it } from 'vitest';
import { run, type CadreEvent } from 'cadre';
import { cotInstructions, type RoleDefinition } from 'cadre/agents';
import { StaticPlanner, type TaskGraphInput } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { collect } from '../fixtures/run-events.js';

const config = { ollamaHost: 'http://127.0.0.1:2', databasePath: ':memory:' };

/** Reasons to 42 when asked for chain-of-thought (cot and self-consistency share its prompt); answers plainly otherwise. */
const model = () =>
  new ScriptedChatModel({
    respond: ({ messages }) =>
      String(messages[0]?.content) === cotInstructions ? 'Six times seven.\nAnswer: 42' : 'done plainly',
  });

const roles: RoleDefinition[] = [
  { name: 'thinker', description: 'thinks', taskKind: 'reason', agent: { name: 'thinker', instructions: 'Think.' } },
  { name: 'writer', description: 'writes', taskKind: 'summarise', agent: { name: 'writer', instructions: 'Write.' } },
];

const task = (id: string, role: string, more: Record<string, unknown> = {}) => ({
  id,
  title: `task ${id}`,
  instruction: `What is six times seven? (${id})`,
  role,
  ...more,
});

const strategyEvents = (events: CadreEvent[]) =>
  events.filter((e) => (e.type as string) === 'strategy.decided') as unknown as Array<{
    taskId: string;
    strategy: string;
  }>;
const startedBy = (events: CadreEvent[]) =>
  Object.fromEntries(events.flatMap((e) => (e.type === 'task.started' ? [[e.taskId, e.agent]] : [])));

describe('a task that names its strategy', () => {
  it('runs a task naming cot with chain-of-thought, journaled under <task>/cot, next to a task run by its role', async () => {
    const graph: TaskGraphInput = {
      goal: 'g',
      tasks: [task('a', 'thinker', { strategy: 'cot' }), task('b', 'thinker', { dependsOn: ['a'] })],
    };
    const { events, result } = await collect(
      run({ goal: 'g', roles, planner: new StaticPlanner(graph), model: model(), config }),
    );
    expect(result.status).toBe('completed');
    expect(result.tasks.map((t) => [t.taskId, t.answer])).toEqual([
      ['a', '42'],
      ['b', 'done plainly'],
    ]);
    expect(startedBy(events)).toEqual({ a: 'cot', b: 'thinker' });
    expect(strategyEvents(events)).toEqual([expect.objectContaining({ taskId: 'a', strategy: 'cot', answer: '42' })]);
    // The strategy's call is in the run's journal under its own key; the role's agent keeps the task's.
    const keys = result.trace.filter((s) => s.kind === 'model').map((s) => s.taskId);
    expect(keys).toEqual(['a/cot', 'b']);
    // Its model call was routed and charged to the run like any other.
    expect(events.filter((e) => e.type === 'model.routed').map((e) => e.taskId)).toContain('a');
    expect(result.steps).toBe(2);
  });

  it('rejects a plan naming an unknown strategy as plan_invalid, naming the task, before any model call', async () => {
    const scripted = model();
    const graph = { goal: 'g', tasks: [task('a', 'thinker'), task('b', 'thinker', { strategy: 'ponder' })] };
    const { result } = await collect(
      run({ goal: 'g', roles, planner: new StaticPlanner(graph), model: scripted, config }),
    );
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('plan_invalid');
    expect(result.error?.message).toMatch(/Task "b" names strategy "ponder"; known strategies: react, cot/);
    expect(scripted.calls).toBe(0);
  });

  it("gives a task the planner's strategy for its kind when it names none; a task's own choice wins", async () => {
    const graph: TaskGraphInput = {
      goal: 'g',
      tasks: [
        task('a', 'thinker'),
        task('b', 'thinker', { strategy: 'react' }),
        task('c', 'writer', { dependsOn: ['a', 'b'] }),
      ],
    };
    const planner = new StaticPlanner(graph, { strategies: { reason: 'self-consistency' } });
    const { events, result } = await collect(run({ goal: 'g', roles, planner, model: model(), config }));
    expect(result.status).toBe('completed');
    // The choice is part of the plan, so a resumed run makes the same one.
    expect(result.plan?.tasks.map((t) => [t.id, t.strategy])).toEqual([
      ['a', 'self-consistency'],
      ['b', 'react'],
      ['c', undefined],
    ]);
    expect(startedBy(events)).toEqual({ a: 'self-consistency', b: 'thinker', c: 'writer' });
    expect(strategyEvents(events)).toEqual([
      expect.objectContaining({ taskId: 'a', strategy: 'self-consistency', answer: '42' }),
    ]);
    // Three agreeing samples of five decide the vote.
    const keys = result.trace.filter((s) => s.kind === 'model').map((s) => s.taskId);
    expect(keys.filter((k) => k.startsWith('a/')).sort()).toEqual(['a/sample-1', 'a/sample-2', 'a/sample-3']);
  });

  it('refuses a planner whose per-kind strategy is unknown, naming the kind', () => {
    const graph = { goal: 'g', tasks: [task('a', 'thinker')] };
    expect(() => new StaticPlanner(graph, { strategies: { reason: 'ponder' as 'cot' } })).toThrow(
      expect.objectContaining({ code: 'input_invalid', message: expect.stringMatching(/strategies\.reason/) }) as Error,
    );
  });
});
