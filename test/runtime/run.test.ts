import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run, type CadreEvent } from 'cadre';
import { createFixedRouter } from 'cadre/models';
import { defineTool } from 'cadre/tools';
import { ScriptedChatModel } from 'cadre/testing';
import { openCadreStore } from '../../src/runtime/store/index.js';

const echo = defineTool({
  name: 'echo',
  description: 'echoes',
  input: z.object({ text: z.string() }),
  effects: 'read',
  run: ({ text }) => text,
});
const loopingModel = (latencyMs = 0) =>
  new ScriptedChatModel({
    latencyMs,
    respond: ({ call }) => ({ toolCalls: [{ name: 'echo', args: { text: `step ${call + 1}` } }] }),
  });
const agent = { name: 'looper', instructions: 'Echo forever.', tools: [echo] };
const offline = { ollamaHost: 'http://127.0.0.1:2' };

describe('run()', () => {
  it('streams events as an AsyncIterable and ends with run.completed carrying answer, usage and cost', async () => {
    const model = new ScriptedChatModel({
      replies: [{ toolCalls: [{ name: 'echo', args: { text: 'hi' } }] }, 'done: hi'],
    });
    const handle = run({ goal: 'say hi', agent, model, config: offline });
    const events: CadreEvent[] = [];
    for await (const event of handle.events()) events.push(event);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('done: hi');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('run.started');
    const last = events.at(-1);
    expect(last?.type === 'run.completed' && last.answer).toBe('done: hi');
    expect(last?.type === 'run.completed' && last.usage.totalTokens).toBe(result.usage.totalTokens);
    expect(result.trace.map((s) => s.kind)).toEqual(['model', 'tool', 'model']);
  });

  it("keeps every attempt's steps in the trace, in plan order and attempt by attempt", async () => {
    // The first attempt ends past the agent's step limit; the retry answers at once.
    const model = new ScriptedChatModel({
      respond: ({ call }) =>
        call < 2 ? { toolCalls: [{ name: 'echo', args: { text: `try ${call}` } }] } : 'second try',
    });
    const result = await run({
      goal: 'g',
      agent: { ...agent, maxSteps: 2 },
      model,
      config: { ...offline, failurePolicy: 'retry', maxRetries: 1 },
    }).result;
    expect(result.status).toBe('completed');
    expect(result.trace.map((s) => `${s.taskId}:${s.kind}`)).toEqual([
      'main:model',
      'main:tool',
      'main:model',
      'main:tool',
      'main#2:model',
    ]);
  });

  it('gives as its trace the steps its database holds, secrets redacted, every attempt included', async () => {
    const secret = 'sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c';
    const model = new ScriptedChatModel({
      respond: ({ call }) =>
        call < 2 ? { toolCalls: [{ name: 'echo', args: { text: `key ${secret} ${call}` } }] } : 'second try',
    });
    const databasePath = join(mkdtempSync(join(tmpdir(), 'cadre-trace-')), 'cadre.db');
    const result = await run({
      goal: 'g',
      agent: { ...agent, maxSteps: 2 },
      model,
      config: { ...offline, databasePath, failurePolicy: 'retry', maxRetries: 1 },
    }).result;
    expect(result.trace).toHaveLength(5);
    const stored = openCadreStore({ path: databasePath }).steps.replayRun(result.runId);
    expect(result.trace).toEqual([...stored.values()].flat());
    expect(JSON.stringify(result.trace)).not.toContain(secret);
  });

  it("keeps the run's result in its record with secrets redacted: the answer, the tasks and the error", async () => {
    const secret = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const databasePath = join(mkdtempSync(join(tmpdir(), 'cadre-record-')), 'cadre.db');
    const answered = await run({
      goal: 'g',
      agent,
      model: new ScriptedChatModel({ replies: [`the token is ${secret}`] }),
      config: { ...offline, databasePath },
    }).result;
    // A failure outside any task (the planner's), whose message the run reports as its error.
    const failed = await run({
      goal: 'g',
      planner: { plan: () => Promise.reject(new Error(`upstream refused token ${secret}`)) },
      model: new ScriptedChatModel({ replies: ['unused'] }),
      config: { ...offline, databasePath },
    }).result;
    expect(failed.status).toBe('failed');
    const store = openCadreStore({ path: databasePath });
    for (const { runId } of [answered, failed]) {
      const record = JSON.stringify(store.runs.get(runId)!.result);
      expect(record).not.toContain(secret);
      expect(record).toContain('[redacted]');
    }
    expect(answered.answer).toBe('the token is [redacted]');
  });

  it('stops at maxSteps with budget_exceeded and keeps what it had', async () => {
    const handle = run({ goal: 'loop', agent, model: loopingModel(), config: { ...offline, maxSteps: 3 } });
    const result = await handle.result;
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.code).toBe('budget_exceeded');
    expect(result.steps).toBe(3);
    expect(result.trace.filter((s) => s.kind === 'model')).toHaveLength(3);
    expect(result.trace.filter((s) => s.kind === 'tool').map((s) => s.kind === 'tool' && s.output)).toEqual([
      'step 1',
      'step 2',
      'step 3',
    ]);
    const kinds: string[] = [];
    for await (const event of handle.events()) kinds.push(event.type);
    expect(kinds).toContain('budget.exceeded');
  });

  it('stops at maxCostUsd with budget_exceeded, costing each call from the price table', async () => {
    const expensive = new ScriptedChatModel({
      respond: () => ({
        toolCalls: [{ name: 'echo', args: { text: 'x' } }],
        usage: { inputTokens: 1_000_000, outputTokens: 0 },
      }),
    });
    const router = createFixedRouter(expensive, { provider: 'openai', model: 'gpt-4o-mini', location: 'cloud' });
    const result = await run({ goal: 'spend', agent, router, config: { ...offline, maxCostUsd: 0.2 } }).result;
    expect(result.status).toBe('budget_exceeded');
    expect(result.costUsd).toBeGreaterThanOrEqual(0.2);
    expect(result.trace.filter((s) => s.kind === 'model').length).toBeGreaterThan(0);
    expect(result.trace.every((s) => s.kind !== 'model' || s.costUsd > 0)).toBe(true);
  });

  it('cancel() mid-run ends it promptly with run.cancelled', async () => {
    const handle = run({ goal: 'loop slowly', agent, model: loopingModel(300), config: offline });
    const seen: string[] = [];
    for await (const event of handle.events()) {
      seen.push(event.type);
      if (event.type === 'tool.result') {
        const started = performance.now();
        handle.cancel('user pressed stop');
        const result = await handle.result;
        expect(performance.now() - started).toBeLessThan(200);
        expect(result.status).toBe('cancelled');
      }
    }
    expect(seen).toContain('run.cancelled');
    expect(seen.at(-1)).toBe('run.completed');
  });

  it('rejects bad input at once with a user error', () => {
    expect(() => run({ goal: '  ', agent, model: loopingModel() })).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
    expect(() => run({ goal: 'x', agent, model: loopingModel(), config: { maxSteps: -1 } })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
    expect(() => run({ goal: 'x', agent: { name: 'bad name!', instructions: 'i' }, model: loopingModel() })).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
  });
});

describe('a task that answered although a tool failed', () => {
  it('says so: task.completed and the task outcome count the failed tool calls', async () => {
    const broken = defineTool({
      name: 'lookup',
      description: 'looks something up',
      input: z.object({ q: z.string() }),
      effects: 'read',
      run: () => {
        throw new Error('ENOENT: no such folder');
      },
    });
    const model = new ScriptedChatModel({
      replies: [
        {
          toolCalls: [
            { name: 'lookup', args: { q: 'a' } },
            { name: 'lookup', args: { q: 'b' } },
          ],
        },
        'Here is what I found.',
      ],
    });
    const handle = run({
      goal: 'look it up',
      agent: { name: 'a', instructions: 'x', tools: [broken] },
      model,
      config: { ...offline, databasePath: ':memory:' },
    });
    const completed: CadreEvent[] = [];
    handle.on('task.completed', (event) => completed.push(event));
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(completed).toMatchObject([{ type: 'task.completed', toolErrors: 2 }]);
    expect(result.tasks[0]).toMatchObject({ status: 'completed', toolErrors: 2 });
  });
});
