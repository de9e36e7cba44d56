import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resume, run, type CadreEvent, type PlanDecision } from 'cadre';
import { LlmPlanner, LlmReplanner, StaticPlanner, validateTaskGraph, type TaskGraphInput } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { InMemoryEpisodeStore } from 'cadre/memory';
import type { AgentContext, AgentTask } from 'cadre/agents';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainTask, timedAgent, type Span } from './team-fixtures.js';
import { collect } from '../fixtures/run-events.js';

const offline = { ollamaHost: 'http://127.0.0.1:2' };
const model = new ScriptedChatModel({ replies: ['unused'] });
const fileDb = () => join(mkdtempSync(join(tmpdir(), 'cadre-orch-')), 'cadre.db');

function team(spans: Span[], options: Parameters<typeof timedAgent>[1] extends infer O ? Partial<O> : never = {}) {
  return [{ name: 'worker', description: 'does the work', agent: timedAgent('worker', { spans, ...options }) }];
}

const startedIds = (events: readonly CadreEvent[]) =>
  events.filter((e) => e.type === 'task.started').map((e) => (e as { taskId: string }).taskId);

const dag = fc.integer({ min: 2, max: 10 }).chain((n) =>
  fc
    .tuple(
      fc.array(fc.array(fc.integer({ min: 0, max: n }), { maxLength: 3 }), { minLength: n, maxLength: n }),
      fc.array(fc.integer({ min: 0, max: 12 }), { minLength: n, maxLength: n }),
      fc.integer({ min: 1, max: 4 }),
    )
    .map(([lists, durations, concurrency]) => ({
      graph: {
        goal: 'g',
        tasks: lists.map((deps, i) => plainTask(`t${i}`, [...new Set(deps.filter((d) => d < i).map((d) => `t${d}`))])),
      },
      durations,
      concurrency,
    })),
);

describe('orchestrator', () => {
  it('never starts a task before its dependencies finished, nor runs more than the concurrency limit (property)', async () => {
    await fc.assert(
      fc.asyncProperty(dag, async ({ graph, durations, concurrency }) => {
        const spans: Span[] = [];
        const handle = run({
          goal: 'g',
          roles: team(spans, { durationMs: (id) => durations[Number(id.slice(1))]! }),
          planner: new StaticPlanner(graph),
          model,
          config: { ...offline, concurrency },
        });
        const result = await handle.result;
        expect(result.status).toBe('completed');
        // Every task ran once, so the checks below cover all of them.
        expect(spans.map((s) => s.id).sort()).toEqual(graph.tasks.map((t) => t.id).sort());
        const span = new Map(spans.map((s) => [s.id, s]));
        for (const task of graph.tasks) {
          for (const dep of task.dependsOn) expect(span.get(task.id)!.start).toBeGreaterThanOrEqual(span.get(dep)!.end);
        }
        const edges = spans
          .flatMap((s) => [
            { at: s.start, d: 1 },
            { at: s.end, d: -1 },
          ])
          .sort((a, b) => a.at - b.at || a.d - b.d);
        let running = 0;
        for (const edge of edges) {
          running += edge.d;
          expect(running).toBeLessThanOrEqual(concurrency);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('runs independent tasks at the same time and hands results to dependents', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b'), plainTask('c', ['a', 'b'])] };
    const { result } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { durationMs: () => 60 }),
        planner: new StaticPlanner(graph),
        model,
        config: offline,
      }),
    );
    expect(result.answer).toBe('c(a,b)');
    const [a, b] = [spans.find((s) => s.id === 'a')!, spans.find((s) => s.id === 'b')!];
    expect(Math.abs(a.start - b.start)).toBeLessThan(30);
    expect(result.tasks.map((t) => [t.taskId, t.status])).toEqual([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
    ]);
  });

  it('retries a failed task and recovers', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a'])] };
    const { result, events } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { fails: (id, attempt) => id === 'a' && attempt === 1 }),
        planner: new StaticPlanner(graph),
        model,
        config: { ...offline, failurePolicy: 'retry' },
      }),
    );
    expect(result.status).toBe('completed');
    expect(result.tasks.find((t) => t.taskId === 'a')!.attempts).toBe(2);
    expect(events.find((e) => e.type === 'task.failed')).toMatchObject({ taskId: 'a', attempt: 1, willRetry: true });
  });

  it('with policy reflect, writes a lesson about the failure, shows it to the retry and keeps it in episodic memory', async () => {
    const contexts: string[] = [];
    const flaky = {
      name: 'worker',
      run: async (task: AgentTask, ctx: AgentContext) => {
        contexts.push(task.context ?? '');
        return timedAgent('worker', { spans: [], fails: (_id, attempt) => attempt === 1 }).run(task, ctx);
      },
    };
    const episodes = new InMemoryEpisodeStore();
    const reflector = new ScriptedChatModel({ replies: ['Check the input before using it.'] });
    const { result, events } = await collect(
      run({
        goal: 'g',
        roles: [{ name: 'worker', description: 'works', agent: flaky }],
        planner: new StaticPlanner({ goal: 'g', tasks: [plainTask('a')] }),
        model: reflector,
        episodes,
        config: { ...offline, failurePolicy: 'reflect', maxRetries: 1 },
      }),
    );
    expect(result.status).toBe('completed');
    expect(events.find((e) => e.type === 'task.reflected')).toMatchObject({
      taskId: 'a',
      attempt: 1,
      lesson: 'Check the input before using it.',
    });
    expect(contexts[1]).toContain('Lesson: Check the input before using it.');
    expect((await episodes.recall('do a', { lessonsOnly: true }))[0]?.lesson).toBe('Check the input before using it.');
  });

  it('holds each task to its own budget, tools and output schema', async () => {
    const { createCalculatorTool, createCurrentTimeTool } = await import('cadre/tools');
    let asked = 0;
    const scripted = new ScriptedChatModel({
      respond: ({ task, toolResults, tools }) => {
        if (/loop/.test(task)) return { toolCalls: [{ name: 'calculator', args: { expression: '1+1' } }] };
        if (/time/.test(task))
          return toolResults.length ? 'no time tool used' : { toolCalls: [{ name: 'current_time', args: {} }] };
        if (/json/.test(task)) return ++asked === 1 ? 'forty-two' : '{"value": 42}';
        return `tools: ${tools.join(',')}`;
      },
    });
    const roles = [
      {
        name: 'worker',
        description: 'works',
        agent: { name: 'worker', instructions: 'Work.', tools: [createCalculatorTool(), createCurrentTimeTool()] },
      },
    ];
    const graph = {
      goal: 'g',
      tasks: [
        { ...plainTask('loop'), budget: { maxSteps: 2 } },
        { ...plainTask('time'), tools: ['calculator'] },
        {
          ...plainTask('json'),
          output: { schema: { type: 'object', properties: { value: { type: 'number' } }, required: ['value'] } },
        },
      ],
    };
    const { result, events } = await collect(
      run({
        goal: 'g',
        roles,
        planner: new StaticPlanner(graph),
        model: scripted,
        config: { ...offline, failurePolicy: 'continue', maxSteps: 50 },
      }),
    );
    const byId = Object.fromEntries(result.tasks.map((t) => [t.taskId, t]));
    expect(byId.loop).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expect(byId.time).toMatchObject({ status: 'completed' });
    expect(events.find((e) => e.type === 'tool.called' && e.tool === 'current_time')).toBeUndefined();
    expect(byId.json).toMatchObject({ status: 'failed', error: { code: 'output_invalid' } });

    asked = 0;
    const retried = await run({
      goal: 'g',
      roles,
      planner: new StaticPlanner({ goal: 'g', tasks: [graph.tasks[2]!] }),
      model: scripted,
      config: { ...offline, failurePolicy: 'retry', maxRetries: 1 },
    }).result;
    expect(retried.status).toBe('completed');
    expect(retried.tasks[0]).toMatchObject({ attempts: 2, output: { value: 42 } });
  });

  it('replans only the failed subgraph: completed tasks run once and keep their results byte for byte', async () => {
    const spans: Span[] = [];
    const graph: TaskGraphInput = {
      goal: 'g',
      tasks: [plainTask('a'), plainTask('b'), plainTask('c', ['b']), plainTask('d', ['a', 'c'])],
    };
    const revision = { goal: 'g', tasks: [plainTask('b2'), plainTask('c', ['b2']), plainTask('d', ['a', 'c'])] };
    const replanModel = new ScriptedChatModel({ replies: [{ toolCalls: [{ name: 'submit_plan', args: revision }] }] });
    const { result, events } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { fails: (id) => id === 'b' }),
        planner: new StaticPlanner(graph),
        replanner: new LlmReplanner({ model: replanModel }),
        model,
        config: { ...offline, failurePolicy: 'replan', maxRetries: 0 },
      }),
    );
    expect(result.status).toBe('completed');
    expect(events.filter((e) => e.type === 'plan.revised')).toHaveLength(1);
    expect(result.plan!.tasks.map((t) => t.id)).toEqual(['a', 'b2', 'c', 'd']);
    expect(startedIds(events).filter((id) => id === 'a')).toHaveLength(1);
    const firstA = events.find((e) => e.type === 'task.completed' && e.taskId === 'a') as { answer: string };
    expect(result.tasks.find((t) => t.taskId === 'a')!.answer).toBe(firstA.answer);
    expect(result.answer).toBe('d(a,c)');
  });

  it('resumes a replanned run from its latest revision: tasks completed before it are read back, not run again', async () => {
    const spans: Span[] = [];
    const databasePath = fileDb();
    const graph: TaskGraphInput = {
      goal: 'g',
      tasks: [plainTask('a'), plainTask('b'), plainTask('c', ['b']), plainTask('d', ['a', 'c'])],
    };
    const revision = { goal: 'g', tasks: [plainTask('b2'), plainTask('c', ['b2']), plainTask('d', ['a', 'c'])] };
    const options = () => ({
      roles: team(spans, { fails: (id: string) => id === 'b' }),
      planner: new StaticPlanner(graph),
      replanner: new LlmReplanner({
        model: new ScriptedChatModel({ replies: [{ toolCalls: [{ name: 'submit_plan', args: revision }] }] }),
      }),
      model,
      config: { ...offline, databasePath, failurePolicy: 'replan' as const, maxRetries: 0 },
    });
    const first = run({ goal: 'g', ...options() });
    first.on('task.completed', (event) => event.taskId === 'b2' && first.cancel('test'));
    const stopped = await first.result;
    expect(stopped.status).toBe('cancelled');
    // The replanner is not asked again on resume (it would have no reply left): the revision is read back.
    const { result, events } = await collect(resume(stopped.runId, options()));
    expect(result.status).toBe('completed');
    const resumedAt = events.find((x) => x.type === 'run.resumed')!.seq;
    const fresh = events.filter((e) => e.seq >= resumedAt);
    expect(startedIds(fresh).sort()).toEqual(['c', 'd']);
    expect(fresh.filter((e) => e.type === 'plan.created' || e.type === 'plan.revised')).toEqual([]);
    expect(result.plan!.tasks.map((t) => t.id)).toEqual(['a', 'b2', 'c', 'd']);
    expect(result.answer).toBe('d(a,c)');
  });

  it('resumes a plan past the default size limits (its planner raised them) and starts no task after a cancel', async () => {
    const spans: Span[] = [];
    const databasePath = fileDb();
    const ids = Array.from({ length: 60 }, (_, i) => `p${i}`);
    const graph = { goal: 'g', tasks: [...ids.map((id) => plainTask(id)), plainTask('join', ids)] };
    const options = () => ({
      roles: team(spans),
      planner: {
        plan: async (_goal: string, context: { roles: ReadonlyArray<{ name: string }> }) => ({
          graph: validateTaskGraph(graph, { roles: context.roles.map((r) => r.name), maxTasks: 100 }),
          attempts: 0,
          rejected: [],
        }),
      },
      model,
      config: { ...offline, databasePath },
    });
    const first = run({ goal: 'g', ...options() });
    let completed = 0;
    first.on('task.completed', () => ++completed === 60 && first.cancel('test'));
    const { result: stopped, events: before } = await collect(first);
    expect(stopped.status).toBe('cancelled');
    expect(startedIds(before)).not.toContain('join');
    const { result, events } = await collect(resume(stopped.runId, options()));
    expect(result.status).toBe('completed');
    const resumedAt = events.find((x) => x.type === 'run.resumed')!.seq;
    expect(startedIds(events.filter((e) => e.seq >= resumedAt))).toEqual(['join']);
  });

  it('a replanner that cannot produce a valid revision ends replanning, not the run', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b')] };
    const junk = new ScriptedChatModel({ respond: () => 'I cannot plan' });
    const { result, events } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { fails: (id) => id === 'b' }),
        planner: new StaticPlanner(graph),
        replanner: new LlmReplanner({ model: junk, maxRepairs: 1 }),
        model,
        config: { ...offline, maxRetries: 0 },
      }),
    );
    expect(events.find((e) => e.type === 'plan.revision_failed')).toMatchObject({
      failedTaskId: 'b',
      error: { code: 'plan_invalid' },
    });
    expect(result.status).toBe('failed');
    expect(Object.fromEntries(result.tasks.map((t) => [t.taskId, t.status]))).toEqual({ a: 'completed', b: 'failed' });
  });

  it('with policy continue, skips what depends on a failure and finishes the independent branch', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b'), plainTask('c', ['a']), plainTask('d', ['b'])] };
    const { result } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { fails: (id) => id === 'a' }),
        planner: new StaticPlanner(graph),
        model,
        config: { ...offline, failurePolicy: 'continue' },
      }),
    );
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('task_failed');
    expect(Object.fromEntries(result.tasks.map((t) => [t.taskId, t.status]))).toEqual({
      a: 'failed',
      b: 'completed',
      c: 'skipped',
      d: 'completed',
    });
    expect(result.answer).toBe('d(b)');
  });

  it('with policy fail-fast, starts nothing new after the first failure', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a']), plainTask('c', ['a']), plainTask('x')] };
    const { result } = await collect(
      run({
        goal: 'g',
        roles: team(spans, { fails: (id) => id === 'x', durationMs: (id) => (id === 'a' ? 40 : 1) }),
        planner: new StaticPlanner(graph),
        model,
        config: { ...offline, failurePolicy: 'fail-fast', concurrency: 2 },
      }),
    );
    expect(result.status).toBe('failed');
    expect(spans.map((s) => s.id).sort()).toEqual(['a', 'x']);
  });

  it('never crashes on malformed plans: junk, then a cycle, are repaired; endless junk ends the run with plan_invalid', async () => {
    const spans: Span[] = [];
    const cyclic = { goal: 'g', tasks: [plainTask('a', ['b']), plainTask('b', ['a'])] };
    const good = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a'])] };
    const planModel = new ScriptedChatModel({
      replies: [
        '{"goal": "g", "tasks": [',
        { toolCalls: [{ name: 'submit_plan', args: cyclic }] },
        { toolCalls: [{ name: 'submit_plan', args: good }] },
      ],
    });
    const repaired = await run({
      goal: 'g',
      roles: team(spans),
      planner: new LlmPlanner({ model: planModel }),
      model,
      config: offline,
    }).result;
    expect(repaired.status).toBe('completed');
    expect(repaired.answer).toBe('b(a)');

    const junk = new ScriptedChatModel({ respond: () => 'no plan here, sorry' });
    const failed = await run({
      goal: 'g',
      roles: team(spans),
      planner: new LlmPlanner({ model: junk }),
      model,
      config: offline,
    }).result;
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('plan_invalid');
  });

  it('charges planning calls to the run budget and shows them as events', async () => {
    const plan = { goal: 'g', tasks: [plainTask('a', [], 'answerer')] };
    const planner = new ScriptedChatModel({
      respond: ({ tools }) =>
        tools.includes('submit_plan') ? { toolCalls: [{ name: 'submit_plan', args: plan }] } : 'answer',
    });
    const roles = [{ name: 'answerer', description: 'answers', agent: { name: 'answerer', instructions: 'Answer.' } }];
    const { result, events } = await collect(
      run({ goal: 'g', roles, model: planner, config: { ...offline, maxSteps: 1 } }),
    );
    expect(events.find((e) => e.type === 'model.response')).toMatchObject({ taskId: 'plan', step: 1 });
    expect(result.status).toBe('budget_exceeded');
    expect(result.steps).toBe(1);
  });

  it('stops cleanly when the run budget runs out mid-graph, keeps finished work, and resumes with a larger budget', async () => {
    const databasePath = fileDb();
    const echoModel = new ScriptedChatModel({ respond: ({ task }) => `done: ${task.split('\n').at(-1)}` });
    const roles = [{ name: 'worker', description: 'answers', agent: { name: 'worker', instructions: 'Answer.' } }];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a']), plainTask('c', ['b'])] };
    const first = await run({
      goal: 'g',
      roles,
      planner: new StaticPlanner(graph),
      model: echoModel,
      config: { ...offline, databasePath, maxSteps: 2 },
    }).result;
    expect(first.status).toBe('budget_exceeded');
    expect(first.tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
    const callsBefore = echoModel.calls;
    const { result, events } = await collect(
      resume(first.runId, {
        roles,
        planner: new StaticPlanner(graph),
        model: echoModel,
        config: { ...offline, databasePath, maxSteps: 10 },
      }),
    );
    expect(result.status).toBe('completed');
    expect(echoModel.calls - callsBefore).toBe(1);
    const resumedAt = events.find((x) => x.type === 'run.resumed')!.seq;
    expect(startedIds(events.filter((e) => e.seq > resumedAt))).toEqual(['c']);
    expect(result.steps).toBe(3);
  });

  it('cancel() drains the run; resume() finishes it, replaying the interrupted task instead of paying for it again', async () => {
    const databasePath = fileDb();
    const slow = new ScriptedChatModel({
      latencyMs: 30,
      respond: ({ toolResults, call }) =>
        toolResults.length || call % 2 === 1 ? `answer ${call}` : { toolCalls: [{ name: 'current_time', args: {} }] },
    });
    const { createCurrentTimeTool } = await import('cadre/tools');
    const roles = [
      {
        name: 'worker',
        description: 'answers',
        agent: { name: 'worker', instructions: 'Answer.', tools: [createCurrentTimeTool()] },
      },
    ];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a']), plainTask('c', ['b'])] };
    const handle = run({
      goal: 'g',
      roles,
      planner: new StaticPlanner(graph),
      model: slow,
      config: { ...offline, databasePath },
    });
    handle.on('tool.result', (event) => event.taskId === 'b' && handle.cancel('test'));
    const stopped = await handle.result;
    expect(stopped.status).toBe('cancelled');
    const { result, events } = await collect(
      resume(stopped.runId, {
        roles,
        planner: new StaticPlanner(graph),
        model: slow,
        config: { ...offline, databasePath },
      }),
    );
    expect(result.status).toBe('completed');
    const resumedAt = events.find((x) => x.type === 'run.resumed')!.seq;
    const fresh = events.filter((e) => e.seq >= resumedAt);
    expect(startedIds(fresh)).toEqual(['b', 'c']);
    // b's first model call and its tool call were journaled before the cancel: replayed, not repeated.
    expect(
      fresh
        .filter((e) => e.type === 'model.response' && e.taskId === 'b')
        .map((e) => (e as { replayed: boolean }).replayed),
    ).toEqual([true, false]);
    expect(fresh.find((e) => e.type === 'tool.result' && e.taskId === 'b')).toMatchObject({ replayed: true });
    expect(result.tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('with maxActiveRuns 1, a second run waits until the first has ended', async () => {
    const spans: Span[] = [];
    const start = (id: string) =>
      run({
        goal: id,
        roles: team(spans, { durationMs: () => 40 }),
        planner: new StaticPlanner({ goal: id, tasks: [plainTask(id)] }),
        model,
        config: { ...offline, maxActiveRuns: 1 },
      }).result;
    const [first, second] = await Promise.all([start('x'), start('y')]);
    expect([first.status, second.status]).toEqual(['completed', 'completed']);
    const [x, y] = [spans.find((s) => s.id === 'x')!, spans.find((s) => s.id === 'y')!];
    expect(y.start).toBeGreaterThanOrEqual(x.end);
  });

  it('the approval gate: edit runs the edited plan, reject ends the run, and a stopped gate resumes with a decision', async () => {
    const spans: Span[] = [];
    const graph = { goal: 'g', tasks: [plainTask('a'), plainTask('b', ['a'])] };
    const edited = { goal: 'g', tasks: [plainTask('a'), plainTask('z', ['a'])] };
    const editRun = await run({
      goal: 'g',
      roles: team(spans),
      planner: new StaticPlanner(graph),
      model,
      config: offline,
      approvePlan: () => ({ action: 'edit', graph: edited }),
    }).result;
    expect(editRun.answer).toBe('z(a)');
    const rejected = await run({
      goal: 'g',
      roles: team(spans),
      planner: new StaticPlanner(graph),
      model,
      config: offline,
      approvePlan: () => ({ action: 'reject' }),
    }).result;
    expect(rejected.status).toBe('rejected');
    expect(rejected.tasks).toEqual([]);

    const databasePath = fileDb();
    let plans = 0;
    const counting = {
      plan: async (...args: Parameters<StaticPlanner['plan']>) => (plans++, new StaticPlanner(graph).plan(...args)),
    };
    const waiting = await run({
      goal: 'g',
      roles: team(spans),
      planner: counting,
      model,
      config: { ...offline, databasePath },
      approvePlan: true,
    }).result;
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.approval?.kind === 'plan_approval' && waiting.approval.graph.tasks.map((t) => t.id)).toEqual([
      'a',
      'b',
    ]);
    const decision: PlanDecision = { action: 'approve' };
    const done = await resume(waiting.runId, {
      roles: team(spans),
      planner: counting,
      model,
      config: { ...offline, databasePath },
      decision,
    }).result;
    expect(done.status).toBe('completed');
    expect(plans).toBe(1);
  });
});
