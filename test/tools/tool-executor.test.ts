import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CadreError, InMemoryToolCallJournal, RunEventStream, callDigest } from 'cadre';
import { ToolExecutor, defineTool, isApprovalPending, markApprovalPending, toLangChainTool } from 'cadre/tools';

const ctx = { runId: 'run_1', taskId: 't1', step: 1 };
const echo = defineTool({
  name: 'echo',
  description: 'echo',
  input: z.object({ text: z.string() }),
  effects: 'read',
  run: ({ text }) => text,
});

describe('ToolExecutor', () => {
  it('validates arguments and returns a readable error naming the field', async () => {
    const outcome = await new ToolExecutor({ tools: [echo] }).execute(
      { id: 'c1', name: 'echo', args: { text: 5 } },
      ctx,
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('tool_args_invalid');
    expect(outcome.output).toMatch(/^Error \(tool_args_invalid\): Invalid arguments for echo: text:/);
  });

  it('reports an unknown tool with the list of available tools', async () => {
    const outcome = await new ToolExecutor({ tools: [echo] }).execute({ id: 'c1', name: 'nope', args: {} }, ctx);
    expect(outcome.error?.code).toBe('tool_not_found');
    expect(outcome.output).toContain('Available tools: echo');
  });

  it('times a slow tool out and aborts its signal', async () => {
    let aborted = false;
    const slow = defineTool({
      name: 'slow',
      description: 'slow',
      input: z.object({}),
      effects: 'read',
      timeoutMs: 30,
      run: (_args, { signal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          setTimeout(resolve, 1000);
        }),
    });
    const outcome = await new ToolExecutor({ tools: [slow], retries: 0 }).execute(
      { id: 'c', name: 'slow', args: {} },
      ctx,
    );
    expect(outcome.error?.code).toBe('timeout');
    expect(aborted).toBe(true);
  });

  it('gives a tool that reads its signal only after the timeout a signal already aborted with the timeout', async () => {
    let late: AbortSignal | undefined;
    const lateReader = defineTool({
      name: 'late_reader',
      description: 'reads its signal late',
      input: z.object({}),
      effects: 'read',
      timeoutMs: 20,
      run: (_args, context) =>
        new Promise((resolve) => {
          setTimeout(() => {
            late = context.signal;
            resolve('done');
          }, 80);
        }),
    });
    const outcome = await new ToolExecutor({ tools: [lateReader], retries: 0 }).execute(
      { id: 'c', name: 'late_reader', args: {} },
      ctx,
    );
    expect(outcome.error?.code).toBe('timeout');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toMatchObject({ code: 'timeout' });
  });

  it('retries an idempotent tool on system errors but never a non-idempotent one', async () => {
    let reads = 0;
    let writes = 0;
    const flakyRead = defineTool({
      name: 'flaky_read',
      description: 'x',
      input: z.object({}),
      effects: 'read',
      run: () => {
        reads += 1;
        if (reads < 3) throw new Error('transient');
        return 'ok';
      },
    });
    const flakyWrite = defineTool({
      name: 'flaky_write',
      description: 'x',
      input: z.object({}),
      effects: 'write',
      run: () => {
        writes += 1;
        throw new Error('transient');
      },
    });
    const executor = new ToolExecutor({ tools: [flakyRead, flakyWrite], retries: 2 });
    const read = await executor.execute({ id: 'a', name: 'flaky_read', args: {} }, ctx);
    const write = await executor.execute({ id: 'b', name: 'flaky_write', args: {} }, ctx);
    expect(read).toMatchObject({ ok: true, output: 'ok', attempts: 3 });
    expect(write).toMatchObject({ ok: false, attempts: 1 });
    expect(writes).toBe(1);
  });

  it('does not retry user errors such as a refused path', async () => {
    let calls = 0;
    const refuses = defineTool({
      name: 'refuses',
      description: 'x',
      input: z.object({}),
      effects: 'read',
      run: () => {
        calls += 1;
        throw new CadreError('path_outside_root', 'no');
      },
    });
    const outcome = await new ToolExecutor({ tools: [refuses] }).execute({ id: 'a', name: 'refuses', args: {} }, ctx);
    expect(outcome.error?.code).toBe('path_outside_root');
    expect(calls).toBe(1);
  });

  it('caps long output with a visible truncation marker', async () => {
    const outcome = await new ToolExecutor({ tools: [echo], outputMaxChars: 10 }).execute(
      { id: 'c', name: 'echo', args: { text: 'x'.repeat(25) } },
      ctx,
    );
    expect(outcome.truncated).toBe(true);
    expect(outcome.output).toBe(`${'x'.repeat(10)}\n…[truncated: 15 more characters]`);
  });

  it('rejects with cancelled when the run is cancelled mid-call', async () => {
    const hang = defineTool({
      name: 'hang',
      description: 'x',
      input: z.object({}),
      effects: 'read',
      run: () => new Promise(() => undefined),
    });
    const controller = new AbortController();
    const pending = new ToolExecutor({ tools: [hang] }).execute(
      { id: 'c', name: 'hang', args: {} },
      { ...ctx, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('emits tool.called then tool.result, with secrets in the arguments redacted', async () => {
    const login = defineTool({
      name: 'login',
      description: 'x',
      input: z.object({ user: z.string(), password: z.string() }),
      effects: 'read',
      run: () => 'ok',
    });
    const events = new RunEventStream('run_1');
    await new ToolExecutor({ tools: [login] }).execute(
      { id: 'c', name: 'login', args: { user: 'ann', password: 'hunter2' } },
      { ...ctx, events },
    );
    const [called, result] = events.history();
    expect(called).toMatchObject({
      type: 'tool.called',
      tool: 'login',
      effects: 'read',
      args: { user: 'ann', password: '[redacted]' },
    });
    expect(result).toMatchObject({ type: 'tool.result', ok: true, output: 'ok' });
    expect(JSON.stringify(events.history())).not.toContain('hunter2');
  });

  it('returns the recorded result of a finished write instead of running it again, and does not repeat one cut off mid-call', async () => {
    let runs = 0;
    const append = defineTool({
      name: 'append',
      description: 'x',
      input: z.object({ line: z.string() }),
      effects: 'write',
      run: ({ line }) => {
        runs += 1;
        return `appended ${line}`;
      },
    });
    const journal = new InMemoryToolCallJournal();
    const executor = new ToolExecutor({ tools: [append] });
    const first = await executor.execute({ id: 'w1', name: 'append', args: { line: 'a' } }, { ...ctx, journal });
    const again = await executor.execute({ id: 'w1', name: 'append', args: { line: 'a' } }, { ...ctx, journal });
    expect(again).toMatchObject({ ok: true, output: first.output, replayed: true });
    journal.begin({
      runId: 'run_1',
      taskId: 't1',
      callId: 'w2',
      tool: 'append',
      args: { line: 'b' },
      digest: callDigest('append', { line: 'b' }),
    }); // crashed here
    const unknown = await executor.execute({ id: 'w2', name: 'append', args: { line: 'b' } }, { ...ctx, journal });
    expect(unknown.error?.code).toBe('tool_outcome_unknown');
    expect(runs).toBe(1);
  });
});

describe('ToolExecutor and a call that stops for an answer', () => {
  it('records a journaled call stopped for an answer as waiting, and runs it again on resume instead of replaying it', async () => {
    let runs = 0;
    let answered = false;
    const ask = defineTool({
      name: 'ask',
      description: 'x',
      input: z.object({}),
      effects: 'write',
      run: () => {
        runs += 1;
        // As the MCP wrapper does while its server's question waits for a person.
        if (!answered) throw markApprovalPending(new Error('waiting for the user'));
        return 'deployed';
      },
    });
    const journal = new InMemoryToolCallJournal();
    const executor = new ToolExecutor({ tools: [ask] });
    const call = { id: 'q1', name: 'ask', args: {} };
    const waiting = executor.execute(call, { ...ctx, journal });
    await expect(waiting).rejects.toSatisfy(isApprovalPending);
    expect(journal.get({ runId: 'run_1', taskId: 't1', callId: 'q1' })).toMatchObject({
      state: 'completed',
      outcome: { ok: false, error: { code: 'elicitation_pending' } },
    });

    answered = true;
    const resumed = await executor.execute(call, { ...ctx, journal });
    expect(resumed).toMatchObject({ ok: true, output: 'deployed', attempts: 1 });
    expect(resumed.replayed).toBeUndefined();
    expect(runs).toBe(2);
    // Finished now: a later replay returns the result without running it a third time.
    expect(await executor.execute(call, { ...ctx, journal })).toMatchObject({ output: 'deployed', replayed: true });
    expect(runs).toBe(2);
  });
});

describe('defineTool', () => {
  it('refuses names model APIs would reject', () => {
    expect(() =>
      defineTool({ name: 'has space', description: 'x', input: z.object({}), effects: 'read', run: () => '' }),
    ).toThrow(expect.objectContaining({ code: 'input_invalid' }));
  });

  it('becomes a LangChain tool whose schema the model sees', async () => {
    const lc = toLangChainTool(echo);
    expect(lc.name).toBe('echo');
    expect(await lc.invoke({ text: 'hey' })).toBe('hey');
  });
});
