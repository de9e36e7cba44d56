import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Budget,
  InMemoryStepJournal,
  InMemoryToolCallJournal,
  RunEventStream,
  callDigest,
  idempotencyKeyOf,
  type JournalStep,
  type StepJournal,
  type ToolCallJournal,
} from 'cadre';
import { ReActAgent, type AgentContext } from 'cadre/agents';
import { createFixedRouter } from 'cadre/models';
import { ScriptedChatModel } from 'cadre/testing';
import { ToolExecutor, createMcpToolset, defineTool, type ToolContext } from 'cadre/tools';
import { createCadreMcpServer, serveHttp, type HttpServing } from '../../src/server/mcp/index.js';
import { openCadreStore } from '../../src/runtime/store/index.js';

function appendTool(idempotent: boolean | 'keyed' = false) {
  const calls: Array<{ n: number; key: string | undefined }> = [];
  const tool = defineTool({
    name: 'append_line',
    description: 'Appends a numbered line.',
    input: z.object({ n: z.number() }),
    effects: 'write',
    idempotent,
    run: ({ n }, ctx: ToolContext) => {
      calls.push({ n, key: ctx.idempotencyKey });
      return `appended ${n}`;
    },
  });
  return { tool, calls };
}

function context(model: ScriptedChatModel, journal: StepJournal, toolJournal: ToolCallJournal): AgentContext {
  return {
    runId: 'run_id',
    router: createFixedRouter(model),
    events: new RunEventStream('run_id'),
    budget: new Budget({}),
    journal,
    toolJournal,
    signal: new AbortController().signal,
  };
}

const asks = (n: number) =>
  new ScriptedChatModel({ replies: [{ toolCalls: [{ name: 'append_line', args: { n }, id: 'call_0' }] }, 'done'] });

describe('tool-call identity', () => {
  it('keeps the digests and idempotency keys journals and servers already hold: SHA-256 of the same text as ever', () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('base64url');
    expect(callDigest('save_file', { name: 'a.txt', content: 'é"\n' })).toBe(
      sha(`save_file\u0000${JSON.stringify({ content: 'é"\n', name: 'a.txt' })}`),
    );
    // Keys sorted by code unit at every depth (numeric-looking keys first, as JSON objects keep them),
    // undefined left out, a `__proto__` key kept as data: digests of what journals already hold.
    const args = JSON.parse('{"b":[1,{"z":2,"y":null}],"10":1,"2":2,"B":0,"__proto__":{"x":1}}') as Record<
      string,
      unknown
    >;
    args.u = undefined;
    expect(callDigest('t', args)).toBe(sha('t\u0000{"2":2,"10":1,"B":0,"__proto__":{"x":1},"b":[1,{"y":null,"z":2}]}'));
    expect(idempotencyKeyOf({ runId: 'run_1', taskId: 'main#1', callId: '1.0' })).toBe(
      `cadre-${sha('run_1\u0000main#1\u00001.0').slice(0, 32)}`,
    );
  });

  it('refuses to answer from the step journal a recorded call that differs from the one asked', async () => {
    const { tool, calls } = appendTool();
    const journal = new InMemoryStepJournal();
    const recorded: JournalStep[] = [
      {
        kind: 'model',
        runId: 'run_id',
        taskId: 't',
        index: 0,
        model: 'scripted',
        content: '',
        toolCalls: [{ id: 'call_0', name: 'append_line', args: { n: 1 } }],
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        costUsd: 0,
      },
      {
        kind: 'tool',
        runId: 'run_id',
        taskId: 't',
        index: 1,
        call: '1.1',
        callId: 'call_0',
        tool: 'append_line',
        args: { n: 9 },
        ok: true,
        output: 'appended 9',
      },
    ];
    for (const step of recorded) journal.append(step);
    const agent = new ReActAgent({ name: 'w', instructions: 'x', tools: [tool] });
    await expect(
      agent.run({ id: 't', instruction: 'go' }, context(asks(1), journal, new InMemoryToolCallJournal())),
    ).rejects.toMatchObject({ code: 'journal_mismatch' });
    expect(calls).toEqual([]);
  });

  it('refuses to answer from the tool-call journal a call recorded at the same position with other arguments', async () => {
    const { tool, calls } = appendTool();
    const toolJournal = new InMemoryToolCallJournal();
    const key = { runId: 'run_id', taskId: 't', callId: '1.1' };
    toolJournal.begin({ ...key, tool: 'append_line', args: { n: 1 }, digest: callDigest('append_line', { n: 1 }) });
    toolJournal.complete(key, { ok: true, output: 'appended 1' });
    const agent = new ReActAgent({ name: 'w', instructions: 'x', tools: [tool] });
    // A fresh step journal: the model is asked again and, this time, wants n = 2 at the same position.
    await expect(
      agent.run({ id: 't', instruction: 'go' }, context(asks(2), new InMemoryStepJournal(), toolJournal)),
    ).rejects.toMatchObject({ code: 'journal_mismatch' });
    expect(calls).toEqual([]);
    // The same call as recorded is answered from the journal without running.
    const same = await agent.run(
      { id: 't', instruction: 'go' },
      context(asks(1), new InMemoryStepJournal(), toolJournal),
    );
    expect(same.answer).toBe('done');
    expect(calls).toEqual([]);
  });

  it('hands a keyed tool the same idempotency key when a call cut off mid-way is re-run, and another key for every other call', async () => {
    const { tool, calls } = appendTool('keyed');
    const journal = new InMemoryToolCallJournal();
    const executor = new ToolExecutor({ tools: [tool] });
    const key = { runId: 'r', taskId: 't', callId: '1.1' };
    journal.begin({ ...key, tool: 'append_line', args: { n: 1 }, digest: callDigest('append_line', { n: 1 }) }); // the process died here
    const rerun = await executor.execute(
      { id: 'call_0', name: 'append_line', args: { n: 1 } },
      { runId: 'r', taskId: 't', step: 1, callKey: '1.1', journal },
    );
    expect(rerun).toMatchObject({ ok: true, output: 'appended 1' });
    await executor.execute(
      { id: 'call_0', name: 'append_line', args: { n: 1 } },
      { runId: 'r', taskId: 't', step: 2, callKey: '2.1', journal },
    );
    await executor.execute(
      { id: 'call_0', name: 'append_line', args: { n: 1 } },
      { runId: 'r', taskId: 't#2', step: 1, callKey: '1.1', journal },
    );
    expect(calls.map((c) => c.key)).toEqual([
      idempotencyKeyOf(key),
      idempotencyKeyOf({ ...key, callId: '2.1' }),
      idempotencyKeyOf({ ...key, taskId: 't#2' }),
    ]);
    expect(new Set(calls.map((c) => c.key)).size).toBe(3);
  });
});

describe('replay of a step stored with redacted arguments', () => {
  it('asks the model that step again instead of running a call with a redacted argument, and the new reply takes its place', async () => {
    const store = openCadreStore({ path: ':memory:' });
    const secret = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    const seen: string[] = [];
    const tool = defineTool({
      name: 'login',
      description: 'logs in',
      input: z.object({ token: z.string() }),
      effects: 'read',
      run: ({ token }) => {
        seen.push(token);
        return 'ok';
      },
    });
    // A process stored the step (redacted on the way in) and died before the call ran.
    store.steps.append({
      kind: 'model',
      runId: 'run_id',
      taskId: 't',
      index: 0,
      model: 'scripted',
      content: '',
      toolCalls: [{ id: 'c1', name: 'login', args: { token: secret } }],
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      costUsd: 0,
    });
    expect(JSON.stringify(store.steps.replay('run_id', 't'))).not.toContain(secret);
    const model = new ScriptedChatModel({
      replies: [{ toolCalls: [{ name: 'login', args: { token: secret }, id: 'c1' }] }, 'in'],
    });
    const agent = new ReActAgent({ name: 'w', instructions: 'x', tools: [tool] });
    const result = await agent.run(
      { id: 't', instruction: 'go' },
      context(model, store.steps, new InMemoryToolCallJournal()),
    );
    expect(result.answer).toBe('in');
    expect(seen).toEqual([secret]);
    expect(model.calls).toBe(2);
    expect(store.steps.replay('run_id', 't').map((s) => `${s.kind}:${s.index}`)).toEqual([
      'model:0',
      'tool:1',
      'model:2',
    ]);
  });
});

describe('a step asked again after redaction, with a call already recorded', () => {
  it('answers the recorded call by the digest of its real arguments and runs only the other one', async () => {
    const store = openCadreStore({ path: ':memory:' });
    const secret = `ghp_${'Z9y8X7w6V5'.repeat(4)}`;
    const runs: string[] = [];
    const tool = defineTool({
      name: 'login',
      description: 'logs in',
      input: z.object({ token: z.string(), site: z.string() }),
      effects: 'read',
      run: ({ site }) => {
        runs.push(site);
        return `ok ${site}`;
      },
    });
    const asked = {
      toolCalls: ['a', 'b'].map((site) => ({ name: 'login', args: { token: secret, site }, id: `c_${site}` })),
    };
    // The first process journaled the step and finished the call to site a, then died.
    const first = new ScriptedChatModel({ replies: [asked, { error: new Error('process died') }] });
    const agent = new ReActAgent({ name: 'w', instructions: 'x', tools: [tool] });
    const ctx = context(first, store.steps, new InMemoryToolCallJournal());
    await expect(agent.run({ id: 't', instruction: 'go' }, ctx)).rejects.toThrow();
    const steps = store.steps.replay('run_id', 't');
    const kept = steps.filter((s) => s.kind === 'model' || (s.kind === 'tool' && s.call === '1.1'));
    const resumed = openCadreStore({ path: ':memory:' });
    for (const step of kept) resumed.steps.append(step);
    runs.length = 0;
    const again = new ScriptedChatModel({ replies: [asked, 'done'] });
    const result = await agent.run(
      { id: 't', instruction: 'go' },
      context(again, resumed.steps, new InMemoryToolCallJournal()),
    );
    expect(result.answer).toBe('done');
    expect(runs).toEqual(['b']);
    expect(again.calls).toBe(2);
  });
});

describe('idempotency keys over MCP', () => {
  let serving: HttpServing | undefined;
  afterEach(async () => {
    await serving?.close();
    serving = undefined;
  });

  it('sends the key in _meta, and a cadre MCP server hands it to its keyed tool', async () => {
    const { tool, calls } = appendTool('keyed');
    serving = await serveHttp(() => createCadreMcpServer({ tools: [tool] }), { port: 0 });
    const toolset = await createMcpToolset({
      servers: { remote: { url: serving.url, idempotent: { append_line: 'keyed' } } },
    });
    try {
      const [remote] = toolset.tools().filter((t) => t.effects === 'write');
      expect(remote!.idempotent).toBe('keyed');
      const journal = new InMemoryToolCallJournal();
      const outcome = await new ToolExecutor({ tools: [remote!] }).execute(
        { id: 'x', name: remote!.name, args: { n: 4 } },
        { runId: 'r', taskId: 't', step: 3, callKey: '3.2', journal },
      );
      expect(outcome.ok).toBe(true);
      expect(calls).toEqual([{ n: 4, key: idempotencyKeyOf({ runId: 'r', taskId: 't', callId: '3.2' }) }]);
    } finally {
      await toolset.close();
    }
  });
});
