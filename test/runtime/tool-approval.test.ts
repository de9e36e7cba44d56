import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openCadreStore, resume, run, type CadreEvent } from 'cadre';
import { StaticPlanner } from 'cadre/planners';
import { AuditLog, defineTool } from 'cadre/tools';
import { ScriptedChatModel, type ScriptContext } from 'cadre/testing';
import { collect } from '../fixtures/run-events.js';

const offline = { ollamaHost: 'http://127.0.0.1:2' };
const fileDb = () => join(mkdtempSync(join(tmpdir(), 'cadre-tool-approval-')), 'cadre.db');

/** A destructive tool that records every path it really removed. */
function removeTool() {
  const removed: string[] = [];
  const tool = defineTool({
    name: 'remove',
    description: 'removes a path',
    input: z.object({ path: z.string(), token: z.string().optional() }),
    effects: 'destructive',
    run: ({ path }) => {
      removed.push(path);
      return `removed ${path}`;
    },
  });
  return { tool, removed };
}

/**
 * Asks to remove the path the task names (several when it names several), then reports what came
 * back. With `token`, each call also carries a secret, which the journal stores redacted.
 */
const remover = (token = false) =>
  new ScriptedChatModel({
    respond: ({ task, toolResults, messages }: ScriptContext) => {
      if (!messages.some((m) => m.getType() === 'tool')) {
        const paths = [...task.matchAll(/remove (\S+)/g)].map((m) => m[1]!);
        return {
          toolCalls: paths.map((path, i) => ({
            name: 'remove',
            id: `call_${path}_${i}`,
            args: { path, ...(token ? { token: 'tok-12345' } : {}) },
          })),
        };
      }
      return `done: ${toolResults.map((r) => r.content).join(' | ')}`;
    },
  });

const types = (events: CadreEvent[]) => events.map((e) => e.type);

describe("approveTool: 'interrupt' — durable tool approval", () => {
  it('stops at awaiting_approval before a destructive call runs, showing the tool with redacted arguments', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const model = remover(true);
    const { result, events } = await collect(
      run({
        goal: 'remove /tmp/a',
        agent: { name: 'cleaner', instructions: 'Clean up.', tools: [tool] },
        model,
        approveTool: 'interrupt',
        config: { ...offline, databasePath },
      }),
    );
    expect(result.status).toBe('awaiting_approval');
    expect(removed).toEqual([]);
    expect(model.calls).toBe(1);
    expect(result.approval).toEqual({
      kind: 'tool_approval',
      tool: 'remove',
      effects: 'destructive',
      taskId: 'main',
      callId: 'call_/tmp/a_0',
      attempt: 1,
      args: { path: '/tmp/a', token: '[redacted]' },
      reason: expect.stringMatching(/destructive tool and policy requires approval/),
    });
    expect(events.find((e) => e.type === 'tool.approval_requested')).toMatchObject({
      tool: 'remove',
      taskId: 'main',
      args: { token: '[redacted]' },
    });
    // Waiting is neither a failure nor a tool outcome: no retry, no refusal, nothing audited.
    expect(types(events)).not.toContain('task.failed');
    expect(types(events)).not.toContain('task.reflected');
    expect(types(events)).not.toContain('tool.result');
    const store = openCadreStore({ path: databasePath });
    expect(store.runs.get(result.runId)?.status).toBe('awaiting_approval');
    expect(new AuditLog(store.db).list({ runId: result.runId })).toEqual([]);
  });

  it('resumed with approve: the call runs exactly once and the journaled model step is not asked again', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const agent = { name: 'cleaner', instructions: 'Clean up.', tools: [tool] };
    const config = { ...offline, databasePath };
    const waiting = await run({ goal: 'remove /tmp/a', agent, model: remover(), approveTool: 'interrupt', config })
      .result;
    expect(waiting.status).toBe('awaiting_approval');

    const model = remover();
    const { result, events: all } = await collect(
      resume(waiting.runId, { agent, model, config, decision: { action: 'approve' } }),
    );
    const events = all.slice(all.findIndex((e) => e.type === 'run.resumed'));
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('done: removed /tmp/a');
    expect(removed).toEqual(['/tmp/a']);
    expect(model.calls).toBe(1); // only the answer after the tool result; the tool call was replayed
    expect(events.find((e) => e.type === 'model.response')).toMatchObject({ replayed: true });
    expect(events.find((e) => e.type === 'tool.approval')).toMatchObject({ tool: 'remove', decision: 'approved' });
    expect(types(events)).not.toContain('task.failed');
    const audit = new AuditLog(openCadreStore({ path: databasePath }).db).list({ runId: waiting.runId });
    expect(audit.map((a) => [a.tool, a.decision])).toEqual([['remove', 'allowed']]);
  });

  it('resumed with reject: the call never runs, the model gets approval_denied with the reason, and the refusal is audited', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const agent = { name: 'cleaner', instructions: 'Clean up.', tools: [tool] };
    const config = { ...offline, databasePath };
    const waiting = await run({ goal: 'remove /tmp/a', agent, model: remover(), approveTool: 'interrupt', config })
      .result;

    const model = remover();
    const { result, events } = await collect(
      resume(waiting.runId, { agent, model, config, decision: { action: 'reject', reason: 'keep it' } }),
    );
    expect(result.status).toBe('completed');
    expect(removed).toEqual([]);
    expect(result.answer).toMatch(/^done: Error \(approval_denied\): Running remove was not approved: keep it/);
    expect(events.find((e) => e.type === 'tool.result')).toMatchObject({
      tool: 'remove',
      ok: false,
      error: { code: 'approval_denied' },
    });
    expect(events.find((e) => e.type === 'tool.approval')).toMatchObject({ decision: 'rejected', reason: 'keep it' });
    const audit = new AuditLog(openCadreStore({ path: databasePath }).db).list({ runId: waiting.runId });
    expect(audit.map((a) => [a.tool, a.decision])).toEqual([['remove', 'approval_denied']]);
  });

  it('a resume cannot edit a tool call, and the error comes before anything runs', async () => {
    const databasePath = fileDb();
    const { tool } = removeTool();
    const agent = { name: 'cleaner', instructions: 'Clean up.', tools: [tool] };
    const waiting = await run({
      goal: 'remove /tmp/a',
      agent,
      model: remover(),
      approveTool: 'interrupt',
      config: { ...offline, databasePath },
    }).result;
    expect(() =>
      resume(waiting.runId, {
        agent,
        model: remover(),
        config: { ...offline, databasePath },
        decision: { action: 'edit' },
      }),
    ).toThrow(/approved or rejected, not edited/);
    expect(openCadreStore({ path: databasePath }).runs.get(waiting.runId)?.status).toBe('awaiting_approval');
  });

  it('with the plan gate too: the plan is approved first, then the tool call, and the plan is made once', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const roles = [
      { name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.', tools: [tool] } },
    ];
    let plans = 0;
    const graph = {
      goal: 'g',
      tasks: [{ id: 'clean', title: 'Clean', instruction: 'remove /tmp/p', role: 'worker', dependsOn: [] }],
    };
    const planner = {
      plan: async (...args: Parameters<StaticPlanner['plan']>) => (plans++, new StaticPlanner(graph).plan(...args)),
    };
    const config = { ...offline, databasePath };
    const team = { roles, planner, config };

    const atPlan = await run({ goal: 'g', ...team, model: remover(), approvePlan: true, approveTool: 'interrupt' })
      .result;
    expect(atPlan.status).toBe('awaiting_approval');
    expect(atPlan.approval?.kind).toBe('plan_approval');
    const atTool = await resume(atPlan.runId, { ...team, model: remover(), decision: { action: 'approve' } }).result;
    expect(atTool.status).toBe('awaiting_approval');
    expect(atTool.approval).toMatchObject({ kind: 'tool_approval', tool: 'remove', taskId: 'clean' });
    expect(removed).toEqual([]);
    const done = await resume(atPlan.runId, { ...team, model: remover(), decision: { action: 'approve' } }).result;
    expect(done.status).toBe('completed');
    expect(removed).toEqual(['/tmp/p']);
    expect(plans).toBe(1);
  });

  it.each([1, 4])(
    'parallel tasks waiting at once (concurrency %i): each resume answers one call and stops at the next',
    async (concurrency) => {
      const databasePath = fileDb();
      const { tool, removed } = removeTool();
      const roles = [
        { name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.', tools: [tool] } },
      ];
      const task = (id: string) => ({ id, title: id, instruction: `remove /tmp/${id}`, role: 'worker', dependsOn: [] });
      const planner = new StaticPlanner({
        goal: 'g',
        tasks: [task('a'), task('b'), { ...task('c'), instruction: 'sum up', dependsOn: ['a', 'b'] }],
      });
      const team = { roles, planner, config: { ...offline, databasePath, concurrency } };

      const first = await run({ goal: 'g', ...team, model: remover(), approveTool: 'interrupt' }).result;
      expect(first.status).toBe('awaiting_approval');
      expect(first.approval).toMatchObject({ kind: 'tool_approval', taskId: 'a', args: { path: '/tmp/a' } });
      const second = await collect(resume(first.runId, { ...team, model: remover(), decision: { action: 'approve' } }));
      expect(second.result.status).toBe('awaiting_approval');
      expect(second.result.approval).toMatchObject({ kind: 'tool_approval', taskId: 'b', args: { path: '/tmp/b' } });
      expect(removed).toEqual(['/tmp/a']);
      const third = await collect(resume(first.runId, { ...team, model: remover(), decision: { action: 'approve' } }));
      expect(third.result.status).toBe('completed');
      expect(removed.sort()).toEqual(['/tmp/a', '/tmp/b']);
      expect(third.result.tasks.map((t) => [t.taskId, t.status])).toEqual([
        ['a', 'completed'],
        ['b', 'completed'],
        ['c', 'completed'],
      ]);
      expect(
        [...second.events, ...third.events].filter((e) => e.type === 'task.failed' || e.type === 'task.skipped'),
      ).toEqual([]);
    },
  );

  it('a call beside the waiting one finishes and is journaled before the run stops, so a resume neither repeats nor loses it', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const notes: string[] = [];
    const note = defineTool({
      name: 'note',
      description: 'writes a note',
      input: z.object({ text: z.string() }),
      effects: 'write',
      run: async ({ text }) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        notes.push(text);
        return `noted ${text}`;
      },
    });
    const model = () =>
      new ScriptedChatModel({
        respond: ({ toolResults, messages }) =>
          messages.some((m) => m.getType() === 'tool')
            ? `done: ${toolResults.map((r) => r.content).join(' | ')}`
            : {
                toolCalls: [
                  { name: 'note', args: { text: 'before' } },
                  { name: 'remove', args: { path: '/z', token: 't' } },
                ],
              },
      });
    const agent = { name: 'cleaner', instructions: 'Clean up.', tools: [note, tool] };
    const config = { ...offline, databasePath };
    const first = await run({ goal: 'g', agent, model: model(), approveTool: 'interrupt', config }).result;
    expect(first.status).toBe('awaiting_approval');
    expect(notes).toEqual(['before']);
    const done = await resume(first.runId, { agent, model: model(), config, decision: { action: 'approve' } }).result;
    expect(done.answer).toBe('done: noted before | removed /z');
    expect(notes).toEqual(['before']);
    expect(removed).toEqual(['/z']);
  });

  it('two calls in one model step wait one after the other, each answered by its own decision', async () => {
    const databasePath = fileDb();
    const { tool, removed } = removeTool();
    const agent = { name: 'cleaner', instructions: 'Clean up.', tools: [tool] };
    const config = { ...offline, databasePath };
    const first = await run({
      goal: 'remove /x then remove /y',
      agent,
      model: remover(),
      approveTool: 'interrupt',
      config,
    }).result;
    expect(first.approval).toMatchObject({ tool: 'remove', args: { path: '/x' } });
    const second = await resume(first.runId, {
      agent,
      model: remover(),
      config,
      decision: { action: 'reject', reason: 'not /x' },
    }).result;
    expect(second.status).toBe('awaiting_approval');
    expect(second.approval).toMatchObject({ tool: 'remove', args: { path: '/y' } });
    const model = remover();
    const done = await resume(first.runId, { agent, model, config, decision: { action: 'approve' } }).result;
    expect(done.status).toBe('completed');
    expect(removed).toEqual(['/y']);
    expect(done.answer).toBe('done: Error (approval_denied): Running remove was not approved: not /x | removed /y');
    expect(model.calls).toBe(1);
  });
});
