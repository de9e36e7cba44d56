import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CadreError, openCadreStore, type CadreStore, type TaskOutcome } from 'cadre';

let path: string;
let store: CadreStore;
/** A second connection to the same file: what a worker in another process writes through. */
let other: Database.Database;

beforeEach(() => {
  path = join(mkdtempSync(join(tmpdir(), 'cadre-fences-')), 'cadre.db');
  store = openCadreStore({ path });
  other = new Database(path);
  other.pragma('busy_timeout = 5000');
});
afterEach(() => {
  other.close();
  store.close();
});

/** Lets the store's write batch commit (it does when the event loop turns). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Another process's worker leased the job again: its epoch now holds the run's fence. */
const takeOver = (runId: string, epoch: number) =>
  other
    .prepare(
      'INSERT INTO run_fences (run_id, epoch) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch',
    )
    .run(runId, epoch);

const outcome = (taskId: string): TaskOutcome => ({
  taskId,
  title: taskId,
  role: 'writer',
  status: 'completed',
  answer: `answer of ${taskId}`,
  attempts: 1,
  steps: 1,
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  costUsd: 0,
  durationMs: 1,
  revision: 0,
});

/** One write of each kind the runtime makes for a run; `n` makes each write distinct. */
const writes = {
  event: (runId: string, n: number) =>
    store.events.append({ type: 'run.started', goal: `event ${n}`, runId, seq: n, ts: n }),
  step: (runId: string, n: number) =>
    store.steps.append({
      kind: 'model',
      runId,
      taskId: 'task#1',
      index: n,
      model: 'scripted',
      content: `step ${n}`,
      toolCalls: [],
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      costUsd: 0,
    }),
  outcome: (runId: string, n: number) => store.outcomes.put(runId, n, outcome(`t${n}`)),
  run: (runId: string, n: number) => store.runs.update(runId, { status: 'completed', result: { n } }),
};
type WriteKind = keyof typeof writes;
const kinds = Object.keys(writes) as WriteKind[];

function thrown(write: () => void): unknown {
  try {
    write();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What is committed for a run, read through the other connection. */
function committed(runId: string) {
  const column = <T>(sql: string) => other.prepare<[string], T>(sql).all(runId);
  return {
    events: column<{ seq: number }>('SELECT seq FROM events WHERE run_id = ? ORDER BY seq').map((r) => r.seq),
    steps: column<{ idx: number }>('SELECT idx FROM steps WHERE run_id = ? ORDER BY idx').map((r) => r.idx),
    outcomes: column<{ first_attempt: number }>(
      'SELECT first_attempt FROM task_outcomes WHERE run_id = ? ORDER BY first_attempt',
    ).map((r) => r.first_attempt),
    result: column<{ result: string | null }>('SELECT result FROM runs WHERE id = ?').map((r) =>
      r.result ? (JSON.parse(r.result) as unknown) : null,
    )[0],
  };
}

/** A run held under epoch 1 by this process, with one write of each kind made while it held it. */
async function heldRun(runId: string): Promise<CadreError[]> {
  store.runs.create({ id: runId, goal: 'fenced' });
  expect(store.fences.take(runId, 1)).toBe(true);
  const lost: CadreError[] = [];
  store.fences.hold(runId, 1, (error) => lost.push(error));
  for (const kind of kinds) writes[kind](runId, 1);
  await flush();
  expect(committed(runId)).toEqual({ events: [1], steps: [1], outcomes: [1], result: { n: 1 } });
  return lost;
}

describe('run fences: a worker whose lease moved on is refused at its next write', () => {
  for (const first of kinds)
    it(`refuses a ${first} write first, then every other kind, with lease_lost; onLost once; nothing stored`, async () => {
      const lost = await heldRun('run_a');
      takeOver('run_a', 2);
      const errors = [first, ...kinds.filter((k) => k !== first)].map((kind) => thrown(() => writes[kind]('run_a', 2)));
      for (const error of errors) {
        expect(CadreError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ code: 'lease_lost', details: { runId: 'run_a', epoch: 1, current: 2 } });
      }
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBe(errors[0]);
      expect(() => store.events.reserve('run_a', 10)).toThrow(lost[0]);
      expect(lost).toHaveLength(1);
      await flush();
      expect(committed('run_a')).toEqual({ events: [1], steps: [1], outcomes: [1], result: { n: 1 } });
      expect(store.events.nextSeq('run_a')).toBe(2);
    });

  it('still commits the writes of other runs batched with a refused one', async () => {
    store.runs.create({ id: 'run_c', goal: 'not fenced' });
    await heldRun('run_a');
    const lostB = await heldRun('run_b');
    takeOver('run_a', 2);
    // One batch (no await in between): writes of B and C on both sides of A's refused write.
    writes.event('run_b', 2);
    writes.step('run_c', 1);
    expect(thrown(() => writes.event('run_a', 2))).toMatchObject({ code: 'lease_lost' });
    writes.step('run_b', 2);
    writes.event('run_c', 1);
    expect(thrown(() => writes.step('run_a', 2))).toMatchObject({ code: 'lease_lost' });
    writes.outcome('run_b', 2);
    writes.run('run_c', 1);
    await flush();
    expect(committed('run_b')).toEqual({ events: [1, 2], steps: [1, 2], outcomes: [1, 2], result: { n: 1 } });
    expect(committed('run_c')).toEqual({ events: [1], steps: [1], outcomes: [], result: { n: 1 } });
    expect(committed('run_a')).toEqual({ events: [1], steps: [1], outcomes: [1], result: { n: 1 } });
    expect(lostB).toEqual([]);
  });

  it('take refuses an epoch lower than or equal to the one held, and leaves the fence as it was', () => {
    const epoch = () =>
      other.prepare<[string], { epoch: number }>('SELECT epoch FROM run_fences WHERE run_id = ?').get('run_a')?.epoch;
    expect(store.fences.take('run_a', 3)).toBe(true);
    expect(store.fences.take('run_a', 2)).toBe(false);
    expect(store.fences.take('run_a', 3)).toBe(false);
    expect(epoch()).toBe(3);
    takeOver('run_a', 5);
    expect(store.fences.take('run_a', 4)).toBe(false);
    expect(store.fences.take('run_a', 5)).toBe(false);
    expect(epoch()).toBe(5);
    expect(store.fences.take('run_a', 6)).toBe(true);
    expect(epoch()).toBe(6);
  });

  it('lets a released run write freely, whatever epoch the fence holds', async () => {
    const lost = await heldRun('run_a');
    takeOver('run_a', 2);
    expect(thrown(() => writes.event('run_a', 2))).toMatchObject({ code: 'lease_lost' });
    store.fences.release('run_a');
    for (const kind of kinds) writes[kind]('run_a', 2);
    await flush();
    expect(committed('run_a')).toEqual({ events: [1, 2], steps: [1, 2], outcomes: [1, 2], result: { n: 2 } });
    expect(lost).toHaveLength(1);
  });

  it('writes again under a newer lease this process takes and holds', async () => {
    await heldRun('run_a');
    takeOver('run_a', 2);
    expect(thrown(() => writes.event('run_a', 2))).toMatchObject({ code: 'lease_lost' });
    expect(store.fences.take('run_a', 3)).toBe(true);
    const lost: CadreError[] = [];
    store.fences.hold('run_a', 3, (error) => lost.push(error));
    for (const kind of kinds) writes[kind]('run_a', 2);
    await flush();
    expect(committed('run_a')).toEqual({ events: [1, 2], steps: [1, 2], outcomes: [1, 2], result: { n: 2 } });
    expect(lost).toEqual([]);
  });
});
