import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from 'cadre';
import { createMemoryTools, ReflexionAgent, functionEvaluator } from 'cadre/agents';
import { createMemory, type Memory } from 'cadre/memory';
import { StaticPlanner } from 'cadre/planners';
import { ScriptedChatModel } from 'cadre/testing';
import { collect } from '../fixtures/run-events.js';

const offline = { ollamaHost: 'http://127.0.0.1:2' };
const open: Memory[] = [];
const memoryIn = async (dir: string, tenant = 'acme') => {
  const memory = await createMemory({ dir, scope: { tenant }, env: {} });
  open.push(memory);
  return memory;
};
const tempDir = () => mkdtempSync(join(tmpdir(), 'cadre-memory-'));
afterEach(async () => {
  for (const memory of open.splice(0)) await memory.close();
});

describe('Memory', () => {
  it('recalls what was remembered, with provenance, and only inside its tenant', async () => {
    const dir = tempDir();
    const memory = await memoryIn(dir);
    await memory.remember('The staging database runs on port 5433.', { source: 'run_1/setup' });
    await memory.remember('Lunch is at noon.', { source: 'run_1/chat' });
    const found = await memory.recall('which port does the staging database use?');
    expect(found.items[0]).toMatchObject({ tier: 'vector', source: 'run_1/setup' });
    expect(found.text).toMatch(
      /\[vector · run_1\/setup · \d{4}-\d{2}-\d{2}\] The staging database runs on port 5433\./,
    );
    const other = await memory.recall('which port does the staging database use?', { scopes: [{ tenant: 'globex' }] });
    expect(other.items).toEqual([]);
  });

  it('keeps the context block within its token budget and drops duplicates', async () => {
    const memory = await memoryIn(tempDir());
    for (let i = 0; i < 30; i++)
      await memory.remember(`Deployment note ${i}: the release train leaves on Tuesday for region ${i}.`);
    await memory.remember('The release train leaves on Tuesday.', { id: 'a' });
    await memory.remember('The release train leaves on Tuesday.', { id: 'b' });
    const found = await memory.recall('when does the release train leave?', { tokenBudget: 80, k: 40 });
    expect(found.tokens).toBeLessThanOrEqual(80);
    expect(found.dropped).toBeGreaterThan(0);
    expect(found.items.filter((i) => i.text === 'The release train leaves on Tuesday.')).toHaveLength(1);
  });

  it('learns facts into the knowledge graph and answers as of a date', async () => {
    const memory = await memoryIn(tempDir());
    const facts = {
      facts: [
        {
          subject: { name: 'Alice', type: 'person' },
          predicate: 'lives_in',
          object: { name: 'Paris', type: 'city' },
          validFrom: '2020-01-01',
          singleValued: true,
        },
        {
          subject: { name: 'Alice', type: 'person' },
          predicate: 'lives_in',
          object: { name: 'Berlin', type: 'city' },
          validFrom: '2024-03-01',
          singleValued: true,
        },
      ],
    };
    const model = new ScriptedChatModel({ replies: [{ toolCalls: [{ name: 'record_facts', args: facts }] }] });
    await memory.learnFacts('Alice lived in Paris, then moved to Berlin in March 2024.', {
      model,
      provenance: { runId: 'run_9' },
    });
    const [graphQuery] = createMemoryTools(memory).filter((t) => t.name === 'graph_query');
    const ctx = { signal: new AbortController().signal, runId: 'r', taskId: 't', callId: 'c' };
    expect(await graphQuery!.run({ entity: 'Alice', asOf: '2023-06-01' }, ctx)).toMatch(/Alice lives in Paris/);
    const now = String(await graphQuery!.run({ entity: 'Alice' }, ctx));
    expect(now).toMatch(/Alice lives in Berlin/);
    expect(now).not.toMatch(/Paris/);
  });
});

describe('memory across runs', () => {
  it('a lesson learned in run 1 is recalled for the same kind of task in run 2', async () => {
    const dir = tempDir();
    const answers = new ScriptedChatModel({
      respond: ({ task, messages }) => {
        if (/review failed attempts/.test(String(messages[0]?.content)))
          return 'Always give the total in euros with the € sign.';
        return /€ sign/.test(task) ? 'The total is €42.' : 'The total is 42.';
      },
    });
    const role = (memory: Memory) => ({
      name: 'accountant',
      description: 'adds up invoices',
      agent: new ReflexionAgent({
        actor: { name: 'accountant', instructions: 'Add up invoices.' },
        evaluator: functionEvaluator((answer) => answer.includes('€') || 'The total must be in euros.'),
        episodes: memory.episodes,
      }),
    });
    const plan = new StaticPlanner({
      goal: 'totals',
      tasks: [
        {
          id: 'sum',
          title: 'Sum the invoices',
          instruction: 'Sum the March invoices.',
          role: 'accountant',
          dependsOn: [],
        },
      ],
    });

    const first = await memoryIn(dir);
    const one = await collect(
      run({ goal: 'totals', roles: [role(first)], planner: plan, model: answers, memory: first, config: offline }),
    );
    expect(one.result.status).toBe('completed');
    expect(one.events.some((e) => e.type === 'task.reflected')).toBe(true);
    await first.close();
    open.splice(open.indexOf(first), 1);

    const second = await memoryIn(dir); // a new process would open the same folder
    const plan2 = new StaticPlanner({
      goal: 'totals',
      tasks: [
        {
          id: 'sum',
          title: 'Sum the invoices',
          instruction: 'Sum the April invoices.',
          role: 'accountant',
          dependsOn: [],
        },
      ],
    });
    const two = await collect(
      run({ goal: 'totals', roles: [role(second)], planner: plan2, model: answers, memory: second, config: offline }),
    );
    const recalled = two.events.find((e) => e.type === 'memory.recalled' && e.kind === 'lessons');
    expect(recalled).toMatchObject({ taskId: 'sum', items: ['Always give the total in euros with the € sign.'] });
    expect(two.events.some((e) => e.type === 'task.reflected')).toBe(false);
    expect(two.result.answer).toBe('The total is €42.');
  });

  it("a later task sees an earlier task's result through memory, and a plan that worked is reused", async () => {
    const dir = tempDir();
    const memory = await memoryIn(dir);
    const seen: string[] = [];
    const model = new ScriptedChatModel({
      respond: ({ tools, task }) => {
        if (tools.includes('submit_plan')) {
          return {
            toolCalls: [
              {
                name: 'submit_plan',
                args: {
                  goal: 'g',
                  tasks: [
                    {
                      id: 'find',
                      title: 'Find the port',
                      instruction: 'Find the staging port.',
                      role: 'worker',
                      dependsOn: [],
                    },
                    {
                      id: 'use',
                      title: 'Use the port',
                      instruction: 'Write the staging port into the config.',
                      role: 'worker',
                      dependsOn: [],
                    },
                  ],
                },
              },
            ],
          };
        }
        seen.push(task);
        return /Find the staging port/.test(task) ? 'The staging port is 5433.' : 'Config written.';
      },
    });
    const roles = [{ name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.' } }];
    const first = await collect(
      run({ goal: 'Set up the staging config', roles, model, memory, config: { ...offline, concurrency: 1 } }),
    );
    expect(first.result.status).toBe('completed');
    expect(first.events.filter((e) => e.type === 'memory.written').map((e) => (e as { kind: string }).kind)).toEqual([
      'task_result',
      'task_result',
      'plan',
    ]);
    expect(seen[1]).toMatch(/From memory[\s\S]*The staging port is 5433/);

    const callsBefore = model.calls;
    const again = await collect(run({ goal: 'Set up the staging config', roles, model, memory, config: offline }));
    expect(again.events.find((e) => e.type === 'plan.created')).toMatchObject({
      reusedFrom: expect.any(String),
      attempts: 0,
    });
    expect(model.calls - callsBefore).toBe(2); // the two tasks; no planning call
  });

  it('with learnFacts, a model reads facts out of task results into the graph, charged to the run', async () => {
    const memory = await memoryIn(tempDir());
    const fact = {
      facts: [
        { subject: { name: 'Staging', type: 'system' }, predicate: 'listens_on', value: 5433, singleValued: true },
      ],
    };
    const model = new ScriptedChatModel({
      respond: ({ tools }) =>
        tools.includes('record_facts')
          ? { toolCalls: [{ name: 'record_facts', args: fact }] }
          : 'Staging listens on port 5433.',
    });
    const roles = [{ name: 'worker', description: 'works', agent: { name: 'worker', instructions: 'Work.' } }];
    const planner = new StaticPlanner({
      goal: 'g',
      tasks: [
        { id: 'probe', title: 'Probe staging', instruction: 'Find the staging port.', role: 'worker', dependsOn: [] },
      ],
    });
    const { result, events } = await collect(
      run({ goal: 'g', roles, planner, model, memory, config: { ...offline, learnFacts: true } }),
    );
    expect(result.status).toBe('completed');
    expect(events.find((e) => e.type === 'memory.written' && e.kind === 'facts')).toMatchObject({ taskId: 'probe' });
    expect(events.find((e) => e.type === 'model.response' && e.taskId === 'probe#facts')).toBeDefined();
    expect(result.steps).toBe(2);
    const facts = await memory.recall('Staging', { tiers: ['graph'] });
    expect(facts.text).toMatch(/\[graph · run_\w+\/probe · [\d-]+\] Staging listens on 5433/);
  });
});
