import { describe, expect, it } from 'vitest';
import { CadreError } from 'cadre';
import { LlmPlanner, RetryReplanner, StaticPlanner, applyRevision, type TaskGraph } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';

const context = {
  roles: [{ name: 'researcher' }, { name: 'writer' }],
  tools: [{ name: 'calculator', description: 'math' }],
};
const task = (id: string, dependsOn: string[] = [], role = 'researcher') => ({
  id,
  title: id,
  instruction: `do ${id}`,
  role,
  dependsOn,
});
const good = { goal: 'g', tasks: [task('a'), task('b'), task('c', ['a', 'b'], 'writer')] };
const cyclic = { goal: 'g', tasks: [task('a', ['b']), task('b', ['a'])] };

describe('LlmPlanner', () => {
  it('repairs an invalid plan from the validation problems', async () => {
    const model = new ScriptedChatModel({
      replies: [
        { toolCalls: [{ name: 'submit_plan', args: cyclic }] },
        { toolCalls: [{ name: 'submit_plan', args: good }] },
      ],
    });
    const seen: string[] = [];
    const spy = new ScriptedChatModel({
      respond: async (ctx) => {
        seen.push(ctx.messages.map((m) => String(m.content)).join('\n'));
        return model.invoke([...ctx.messages]).then((m) => ({
          content: String(m.content),
          toolCalls: m.tool_calls?.map((c) => ({ name: c.name, args: c.args, id: c.id })),
        }));
      },
    });
    const report = await new LlmPlanner({ model: spy }).plan('g', context);
    expect(report.graph.tasks.map((t) => t.id)).toEqual(['a', 'b', 'c']);
    expect(report.attempts).toBe(2);
    expect(seen[1]).toMatch(/Dependency cycle: (a -> b -> a|b -> a -> b)/);
  });

  it('repairs prose and bad JSON into a plan given as a JSON block', async () => {
    const model = new ScriptedChatModel({
      replies: [
        'I think we should research first.',
        '{"goal": "g", "tasks": [',
        `Here:\n\`\`\`json\n${JSON.stringify(good)}\n\`\`\``,
      ],
    });
    const report = await new LlmPlanner({ model, maxRepairs: 2 }).plan('g', context);
    expect(report.attempts).toBe(3);
    expect(report.rejected[0]).toMatch(/no plan/);
    expect(report.rejected[1]).toMatch(/not valid JSON/);
  });

  it('gives up with plan_invalid after its repairs, without crashing on junk', async () => {
    const model = new ScriptedChatModel({
      respond: ({ call }) => (call % 2 ? { toolCalls: [{ name: 'submit_plan', args: { tasks: 5 } }] } : 'null'),
    });
    const error = await new LlmPlanner({ model, maxRepairs: 2 }).plan('g', context).catch((e: unknown) => e);
    expect(CadreError.isInstance(error) && error.code).toBe('plan_invalid');
    expect(model.calls).toBe(3);
  });

  it('rejects unknown roles and tools so the model can fix them', async () => {
    const bad = { goal: 'g', tasks: [{ ...task('a', [], 'poet'), tools: ['shell'] }] };
    const model = new ScriptedChatModel({
      replies: [
        { toolCalls: [{ name: 'submit_plan', args: bad }] },
        { toolCalls: [{ name: 'submit_plan', args: good }] },
      ],
    });
    const report = await new LlmPlanner({ model }).plan('g', context);
    expect(report.rejected[0]).toMatch(/role "poet"/);
    expect(report.rejected[0]).toMatch(/tool "shell"/);
  });

  it('sends an unknown strategy back for repair, and gives each task kind its strategy where the plan names none', async () => {
    const kinds = { ...context, roles: [{ name: 'researcher', kind: 'reason' }, { name: 'writer' }] };
    const named = {
      goal: 'g',
      tasks: [{ ...task('a'), strategy: 'tree-of-thoughts' }, task('b'), task('c', [], 'writer')],
    };
    const model = new ScriptedChatModel({
      replies: [
        { toolCalls: [{ name: 'submit_plan', args: { goal: 'g', tasks: [{ ...task('a'), strategy: 'ponder' }] } }] },
        { toolCalls: [{ name: 'submit_plan', args: named }] },
      ],
    });
    const planner = new LlmPlanner({ model, strategies: { reason: 'cot', agent: 'lats' } });
    const report = await planner.plan('g', kinds);
    expect(report.rejected[0]).toMatch(/Task "a" names strategy "ponder"/);
    // The writer declares no kind: its tasks are of kind `agent`.
    expect(report.graph.tasks.map((t) => [t.id, t.strategy])).toEqual([
      ['a', 'tree-of-thoughts'],
      ['b', 'cot'],
      ['c', 'lats'],
    ]);
  });
});

describe('StaticPlanner', () => {
  it('validates a given plan', async () => {
    expect((await new StaticPlanner(good).plan('g', context)).graph.tasks).toHaveLength(3);
    await expect(new StaticPlanner(cyclic).plan('g', context)).rejects.toMatchObject({ code: 'plan_invalid' });
  });
});

describe('replanning', () => {
  const graph: TaskGraph = { goal: 'g', tasks: [task('a'), task('b', ['a']), task('c', ['b'], 'writer'), task('d')] };
  const options = { completed: new Set(['a', 'd']), failedTaskId: 'b', roles: ['researcher', 'writer'] };

  it('replaces only the failed task and its descendants, keeping completed tasks byte for byte', () => {
    const revision = { goal: 'g', tasks: [task('b2', ['a']), task('c2', ['b2'], 'writer')] };
    const merged = applyRevision(graph, revision, options);
    expect(merged.tasks.map((t) => t.id).sort()).toEqual(['a', 'b2', 'c2', 'd']);
    expect(JSON.stringify(merged.tasks.find((t) => t.id === 'a'))).toBe(JSON.stringify(graph.tasks[0]));
    expect(JSON.stringify(merged.tasks.find((t) => t.id === 'd'))).toBe(JSON.stringify(graph.tasks[3]));
  });

  it('rejects a revision that changes a completed task', () => {
    const revision = { goal: 'g', tasks: [{ ...task('a'), instruction: 'something else' }, task('b', ['a'])] };
    expect(() => applyRevision(graph, revision, options)).toThrow(/"a" is completed and cannot change/);
  });

  it('RetryReplanner puts the error into the failed task only', async () => {
    const revised = await new RetryReplanner().revise(graph, {
      taskId: 'b',
      error: 'timeout talking to API',
      completed: new Set(['a']),
    });
    expect(revised.tasks.find((t) => t.id === 'b')?.instruction).toMatch(/timeout talking to API/);
    expect(revised.tasks.filter((t) => t.id !== 'b')).toEqual(graph.tasks.filter((t) => t.id !== 'b'));
  });
});
