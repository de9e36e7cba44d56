import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { run, type CadreEvent } from 'cadre';
import { ScriptedChatModel } from 'cadre/testing';
import { openCadreStore, type CadreStore } from '../../src/runtime/store/index.js';
import type * as StoreModule from '../../src/runtime/store/cadre-store.js';

// Every store a run opens, so a test can see what became of it once the run ended.
const opened = vi.hoisted(() => [] as CadreStore[]);
vi.mock('../../src/runtime/store/cadre-store.js', async (importOriginal) => {
  const actual = await importOriginal<typeof StoreModule>();
  return {
    ...actual,
    openConfiguredStore: (config: Parameters<typeof actual.openConfiguredStore>[0]) => {
      const store = actual.openConfiguredStore(config);
      opened.push(store);
      return store;
    },
  };
});

const agent = { name: 'helper', instructions: 'Answer.' };
const offline = { ollamaHost: 'http://127.0.0.1:2' };

async function runOnce(databasePath: string) {
  opened.length = 0;
  const handle = run({
    goal: 'say hi',
    agent,
    model: new ScriptedChatModel({ replies: ['hi'] }),
    config: { ...offline, databasePath },
  });
  const result = await handle.result;
  expect(result.status).toBe('completed');
  expect(opened).toHaveLength(1);
  return { handle, store: opened[0]! };
}

describe('a run on a `:memory:` database', () => {
  it("closes the run's private database when the run ends, and its events still replay from the handle", async () => {
    const { handle, store } = await runOnce(':memory:');
    expect(store.path).toBe(':memory:');
    expect(store.db.open).toBe(false);
    const events: CadreEvent[] = [];
    for await (const event of handle.events()) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'run.started',
      'plan.created',
      'task.started',
      'model.routed',
      'model.response',
      'task.completed',
      'run.completed',
    ]);
  });

  it('leaves a database file open for the runs after it', async () => {
    const { store } = await runOnce(join(mkdtempSync(join(tmpdir(), 'cadre-memory-')), 'cadre.db'));
    expect(store.db.open).toBe(true);
    expect(store.runs.list(5).map((r) => r.status)).toEqual(['completed']);
    store.close();
  });

  it('opens each `:memory:` store as a new, empty database with every table', () => {
    const first = openCadreStore({ path: ':memory:' });
    const second = openCadreStore({ path: ':memory:' });
    try {
      first.events.append({ type: 'run.started', goal: 'g', runId: 'run_a', seq: 1, ts: 1 });
      first.runs.create({ id: 'run_a', goal: 'g', settings: {} });
      expect(first.events.read('run_a')).toHaveLength(1);
      expect(first.runs.get('run_a')?.goal).toBe('g');
      expect(second.events.read('run_a')).toEqual([]);
      expect(second.runs.get('run_a')).toBeUndefined();
      const tables = (db: CadreStore['db']) =>
        db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
      expect(tables(second.db)).toEqual(tables(first.db));
      expect(tables(first.db).map((t) => t.name)).toEqual(
        expect.arrayContaining(['events', 'runs', 'steps', 'tool_calls']),
      );
    } finally {
      first.close();
      second.close();
    }
  });
});
