import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { z } from 'zod';
import { CadreError, RunEventStream, callDigest, type CadreEvent, type JournalStep } from 'cadre';
import { ToolExecutor, defineTool } from 'cadre/tools';
import { openCadreStore, openDatabase, type CadreStore } from '../../src/runtime/store/index.js';

const emptyUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

function modelStep(runId: string, taskId: string, index: number, content: string): JournalStep {
  return {
    kind: 'model',
    runId,
    taskId,
    index,
    model: 'scripted',
    content,
    toolCalls: [],
    usage: { ...emptyUsage },
    costUsd: 0,
  };
}

function toolStep(runId: string, taskId: string, index: number, callId: string): JournalStep {
  return { kind: 'tool', runId, taskId, index, callId, tool: 'echo', args: { text: callId }, ok: true, output: callId };
}

async function collect(iterable: AsyncIterable<CadreEvent>): Promise<CadreEvent[]> {
  const out: CadreEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

/** A pid that belonged to a process that has already exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid ?? 2147483646;
}

let dir: string;
const opened: CadreStore[] = [];
const open = (path: string) => {
  const store = openCadreStore({ path });
  opened.push(store);
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cadre-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStepJournal', () => {
  it('replays steps in order per (run, task), and keeps them across closing and reopening the file', () => {
    const path = join(dir, 'cadre.db');
    const store = open(path);
    // Interleave two tasks (and another run) to check the keys keep them apart.
    store.steps.append(modelStep('run_a', 't1', 0, 'first of t1'));
    store.steps.append(modelStep('run_a', 't2', 0, 'first of t2'));
    store.steps.append(toolStep('run_a', 't1', 1, 'call_1'));
    store.steps.append(modelStep('run_b', 't1', 0, 'other run'));
    store.steps.append(toolStep('run_a', 't2', 1, 'call_2'));
    store.steps.append(modelStep('run_a', 't1', 2, 'answer of t1'));

    const check = (s: CadreStore) => {
      const t1 = s.steps.replay('run_a', 't1');
      expect(t1.map((step) => step.index)).toEqual([0, 1, 2]);
      expect(t1[0]).toEqual(modelStep('run_a', 't1', 0, 'first of t1'));
      expect(t1[1]).toEqual(toolStep('run_a', 't1', 1, 'call_1'));
      expect(t1[2]).toMatchObject({ kind: 'model', content: 'answer of t1' });
      const t2 = s.steps.replay('run_a', 't2');
      expect(t2).toEqual([modelStep('run_a', 't2', 0, 'first of t2'), toolStep('run_a', 't2', 1, 'call_2')]);
      expect(s.steps.replay('run_b', 't1')).toHaveLength(1);
      expect(s.steps.replay('run_a', 'missing')).toEqual([]);
    };
    check(store);

    store.close();
    expect(store.db.open).toBe(false);
    const reopened = open(path);
    expect(reopened).not.toBe(store);
    check(reopened);
  });
});

describe('SqliteToolCallJournal with ToolExecutor', () => {
  function writer(idempotent = false) {
    const counter = { runs: 0 };
    const tool = defineTool({
      name: 'append_line',
      description: 'appends a line somewhere',
      input: z.object({ line: z.string() }),
      effects: 'write',
      idempotent,
      run: ({ line }) => {
        counter.runs += 1;
        return `wrote ${line}`;
      },
    });
    return { tool, counter };
  }

  it('runs a write tool once, records it, and replays the recorded result for the same call', async () => {
    const store = open(':memory:');
    const { tool, counter } = writer();
    const executor = new ToolExecutor({ tools: [tool] });
    const ctx = { runId: 'run_w', taskId: 't1', step: 1, journal: store.toolCalls };
    const call = { id: 'call_1', name: 'append_line', args: { line: 'hello' } };

    const first = await executor.execute(call, ctx);
    expect(first).toMatchObject({ ok: true, output: 'wrote hello' });
    expect(first.replayed).toBeUndefined();
    expect(counter.runs).toBe(1);
    const record = store.toolCalls.get({ runId: 'run_w', taskId: 't1', callId: 'call_1' });
    expect(record).toMatchObject({
      state: 'completed',
      tool: 'append_line',
      args: { line: 'hello' },
      outcome: { ok: true, output: 'wrote hello' },
    });
    expect(record?.completedAt).toBeTypeOf('number');

    const second = await executor.execute(call, ctx);
    expect(second).toMatchObject({ ok: true, output: 'wrote hello', replayed: true, attempts: 0 });
    expect(counter.runs).toBe(1);

    // A different call id is a different call: it runs.
    await executor.execute({ ...call, id: 'call_2' }, ctx);
    expect(counter.runs).toBe(2);
    expect(store.toolCalls.forRun('run_w').map((r) => r.callId)).toEqual(['call_1', 'call_2']);
  });

  it('reports a started-but-unfinished non-idempotent call as tool_outcome_unknown and does not run it', async () => {
    const store = open(':memory:');
    const { tool, counter } = writer(false);
    const key = { runId: 'run_c', taskId: 't1', callId: 'call_1' };
    // The process "crashed" after begin and before complete.
    store.toolCalls.begin({
      ...key,
      tool: 'append_line',
      args: { line: 'hello' },
      digest: callDigest('append_line', { line: 'hello' }),
    });
    expect(store.toolCalls.get(key)?.state).toBe('started');

    const outcome = await new ToolExecutor({ tools: [tool] }).execute(
      { id: 'call_1', name: 'append_line', args: { line: 'hello' } },
      { runId: 'run_c', taskId: 't1', step: 1, journal: store.toolCalls },
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('tool_outcome_unknown');
    expect(outcome.output).toContain('tool_outcome_unknown');
    expect(counter.runs).toBe(0);
    expect(store.toolCalls.get(key)?.state).toBe('started');
  });

  it('runs an idempotent write tool again after a started-but-unfinished call', async () => {
    const store = open(':memory:');
    const { tool, counter } = writer(true);
    const key = { runId: 'run_i', taskId: 't1', callId: 'call_1' };
    store.toolCalls.begin({
      ...key,
      tool: 'append_line',
      args: { line: 'hello' },
      digest: callDigest('append_line', { line: 'hello' }),
    });

    const outcome = await new ToolExecutor({ tools: [tool] }).execute(
      { id: 'call_1', name: 'append_line', args: { line: 'hello' } },
      { runId: 'run_i', taskId: 't1', step: 1, journal: store.toolCalls },
    );
    expect(outcome).toMatchObject({ ok: true, output: 'wrote hello' });
    expect(outcome.replayed).toBeUndefined();
    expect(counter.runs).toBe(1);
    expect(store.toolCalls.get(key)).toMatchObject({
      state: 'completed',
      outcome: { ok: true, output: 'wrote hello' },
    });
  });
});

describe('SqliteEventLog with RunEventStream', () => {
  it('continues a run from startSeq and replays earlier events from the log', async () => {
    const store = open(':memory:');
    const runId = 'run_e';
    const first = new RunEventStream(runId, { log: store.events });
    first.emit({ type: 'model.routed', taskId: 't1', model: 'm', provider: 'p', reason: 'one' });
    first.emit({ type: 'model.routed', taskId: 't1', model: 'm', provider: 'p', reason: 'two' });
    first.emit({ type: 'model.routed', taskId: 't1', model: 'm', provider: 'p', reason: 'three' });
    first.close();
    expect(store.events.lastSeq(runId)).toBe(3);

    const second = new RunEventStream(runId, { log: store.events, startSeq: 4 });
    const four = second.emit({ type: 'model.routed', taskId: 't1', model: 'm', provider: 'p', reason: 'four' });
    const five = second.emit({ type: 'model.routed', taskId: 't1', model: 'm', provider: 'p', reason: 'five' });
    expect(four?.seq).toBe(4);
    expect(five?.seq).toBe(5);
    expect(second.history().map((e) => e.seq)).toEqual([4, 5]);
    second.close();

    const all = await collect(second.events(1));
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all.map((e) => e.type === 'model.routed' && e.reason)).toEqual(['one', 'two', 'three', 'four', 'five']);
    // The first three came from the log (the new stream never emitted them).
    expect(all.slice(0, 3)).toEqual(first.history());
    expect(all.slice(3)).toEqual(second.history());
    // A replay from the middle of the earlier process's events.
    expect((await collect(second.events(3))).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(store.events.read(runId).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(store.events.lastSeq('nothing')).toBe(0);
  });

  it('stores events with secrets redacted', () => {
    const store = open(':memory:');
    const secret = 'sk-abcdefghijklmnopqrstuvwx';
    const stream = new RunEventStream('run_s', { log: store.events });
    stream.emit({
      type: 'tool.called',
      taskId: 't1',
      step: 1,
      callId: 'call_1',
      tool: 'http_fetch',
      args: { url: 'https://example.com', apiKey: secret, note: `key is ${secret}` },
      effects: 'read',
      replayed: false,
    });
    stream.close();

    // The insert waits for the commit; a query of one's own on the connection flushes first.
    expect(store.db.prepare('SELECT body FROM events WHERE run_id = ?').all('run_s')).toEqual([]);
    store.applyQueued();
    const rows = store.db.prepare('SELECT body FROM events WHERE run_id = ?').all('run_s') as Array<{ body: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.body).not.toContain(secret);
    expect(rows[0]!.body).toContain('[redacted]');
    const [stored] = store.events.read('run_s');
    expect(stored).toMatchObject({ type: 'tool.called', args: { url: 'https://example.com', apiKey: '[redacted]' } });
  });
});

describe('RunRegistry', () => {
  it('creates, updates, gets and lists runs', async () => {
    const store = open(':memory:');
    store.runs.create({ id: 'run_1', goal: 'first goal', settings: { team: 'default' } });
    await new Promise((r) => setTimeout(r, 5));
    store.runs.create({ id: 'run_2', goal: 'second goal' });

    expect(store.runs.get('run_1')).toMatchObject({
      id: 'run_1',
      goal: 'first goal',
      status: 'running',
      settings: { team: 'default' },
    });
    expect(store.runs.get('run_1')?.plan).toBeUndefined();
    expect(store.runs.get('missing')).toBeUndefined();

    store.runs.update('run_1', { status: 'completed', plan: { tasks: ['a'] }, result: { answer: 42 } });
    const updated = store.runs.get('run_1');
    expect(updated).toMatchObject({
      status: 'completed',
      plan: { tasks: ['a'] },
      result: { answer: 42 },
      settings: { team: 'default' },
    });
    expect(updated!.updatedAt).toBeGreaterThanOrEqual(updated!.createdAt);

    // Newest first.
    expect(store.runs.list().map((r) => r.id)).toEqual(['run_2', 'run_1']);
    expect(store.runs.list(1).map((r) => r.id)).toEqual(['run_2']);
  });

  it('reports a running run whose process is gone as interrupted', () => {
    const store = open(':memory:');
    store.runs.create({ id: 'run_live', goal: 'live' });
    store.runs.create({ id: 'run_dead', goal: 'dead' });
    store.runs.create({ id: 'run_done', goal: 'done' });
    store.runs.update('run_done', { status: 'failed' });
    const pid = deadPid();
    store.db.prepare('UPDATE runs SET pid = ? WHERE id IN (?, ?)').run(pid, 'run_dead', 'run_done');

    expect(store.runs.get('run_live')?.status).toBe('running');
    expect(store.runs.get('run_dead')?.status).toBe('interrupted');
    // Only `running` rows are re-labelled.
    expect(store.runs.get('run_done')?.status).toBe('failed');
    expect(store.runs.list().find((r) => r.id === 'run_dead')?.status).toBe('interrupted');

    store.db.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(2147483646, 'run_dead');
    expect(store.runs.get('run_dead')?.status).toBe('interrupted');
  });
});

describe('openDatabase', () => {
  it('throws store_failed for a path under a regular file', () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'plain file');
    let caught: unknown;
    try {
      openDatabase({ path: join(file, 'x', 'cadre.db') });
    } catch (error) {
      caught = error;
    }
    expect(CadreError.isInstance(caught)).toBe(true);
    expect(caught).toBeInstanceOf(CadreError);
    expect((caught as CadreError).code).toBe('store_failed');
    expect((caught as CadreError).message).toContain('not-a-dir');
  });

  it('creates the tables in a new file database, in WAL mode', () => {
    const db = openDatabase({ path: join(dir, 'nested', 'deeper', 'cadre.db') });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>
      ).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['events', 'runs', 'steps', 'tool_calls']));
    } finally {
      db.close();
    }
  });
});

describe('CadreStore checkpointer', () => {
  // LangGraph's own conformance suite runs against it in checkpointer-conformance.test.ts.
  it('wires an upstream SqliteSaver onto the store database, loaded once on first use', async () => {
    const store = open(':memory:');
    const checkpointer = await store.checkpointer();
    expect(checkpointer).toBeInstanceOf(SqliteSaver);
    expect(checkpointer.db).toBe(store.db);
    expect(await store.checkpointer()).toBe(checkpointer);
  });
});
