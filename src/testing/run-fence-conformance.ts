import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  callDigest,
  CadreError,
  type CadreEvent,
  type FencedRunWrites,
  type JournalStep,
  type RevisionRecord,
  type RunStore,
  type TaskOutcome,
  type ToolCallKey,
  type ToolCallStart,
} from '../core/index.js';
import { freshEachTest, globalTestApi, type ConformanceOptions } from './conformance-kit.js';

/** What {@link runFenceConformance} runs against: a RunStore made afresh for each test. */
export type RunFenceConformanceOptions = ConformanceOptions<RunStore>;

const fresh = (prefix: string) => `${prefix}-${randomUUID()}`;
const usage = { inputTokens: 12, outputTokens: 5, totalTokens: 17 };
const attempt = 't1#1';

const event = (runId: string, seq: number, title = `task ${seq}`): CadreEvent => ({
  type: 'task.started',
  runId,
  seq,
  ts: Date.UTC(2026, 5, 1) + seq,
  taskId: 't1',
  agent: 'researcher',
  role: 'research',
  title,
  attempt: 1,
});

const step = (runId: string, index: number): JournalStep => ({
  kind: 'model',
  runId,
  taskId: attempt,
  index,
  model: 'scripted',
  content: `reply ${index} "quoted" 日本語`,
  toolCalls: [],
  usage,
  costUsd: 0.001,
});

const callKey = (runId: string, callId: string): ToolCallKey => ({ runId, taskId: attempt, callId });
const call = (runId: string, callId: string): ToolCallStart => {
  const args = { url: `https://example.com/${callId}`, retries: 2 };
  return { ...callKey(runId, callId), tool: 'http_get', args, digest: callDigest('http_get', args) };
};

const outcome = (taskId: string): TaskOutcome => ({
  taskId,
  title: `Task ${taskId}`,
  role: 'writer',
  status: 'completed',
  answer: `answer of ${taskId}`,
  attempts: 1,
  steps: 2,
  usage,
  costUsd: 0.002,
  durationMs: 40,
  revision: 0,
});

const revision = (n: number): RevisionRecord => ({ graph: { tasks: [{ id: `t${n}` }] }, attempts: { t1: n } });

/** A refusal with `code`; for `lease_lost`, naming the run, the writer's epoch and the one held (null: none). */
const refused =
  (code: string, details?: { runId: string; epoch: number; current: number | null }) => (error: unknown) => {
    assert.ok(CadreError.isInstance(error), `expected a CadreError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (details) assert.deepEqual({ ...error.details }, details);
    return true;
  };

/** Each of the eight fenced writes, made through `view` on `runId`: what a refused view must not leave. */
const staleWrites = (view: FencedRunWrites, runId: string): Array<[string, () => Promise<void>]> => [
  ['updateRun', () => view.updateRun({ status: 'failed', result: { answer: 'stale' } })],
  ['appendEvents', () => view.appendEvents([event(runId, 1, 'stale replacement'), event(runId, 3)])],
  ['appendEvents of none', () => view.appendEvents([])],
  ['reserve', () => view.reserve(50)],
  ['appendStep', () => view.appendStep(step(runId, 1))],
  ['beginCall', () => view.beginCall(call(runId, '2.0'))],
  ['completeCall', () => view.completeCall(callKey(runId, '1.0'), { ok: true, output: 'stale' })],
  ['putOutcome', () => view.putOutcome(2, outcome('t2'))],
  ['putRevision', () => view.putRevision(1, revision(1))],
];

/** Everything of the run the eight writes could touch, read through the unfenced interface. */
async function stored(store: RunStore, runId: string) {
  return {
    record: await store.runs.get(runId),
    events: await store.events.read(runId),
    nextSeq: await store.events.nextSeq(runId),
    steps: await store.steps.replay(runId, attempt),
    calls: [await store.toolCalls.get(callKey(runId, '1.0')), await store.toolCalls.get(callKey(runId, '2.0'))],
    outcomes: [await store.outcomes.get(runId, 't1', 1), await store.outcomes.get(runId, 't2', 2)],
    revision: await store.outcomes.lastRevision(runId),
  };
}

/**
 * Defines how every RunStore fences the runs workers hold under a lease, as a `describe` block: a
 * fence taken with a first or higher epoch only, read back, each run's apart; the eight writes of a
 * fenced view landing while the fence holds its epoch, refused with `lease_lost` and writing nothing
 * once a newer epoch was taken (or when none was), refused with `input_invalid` when they name
 * another run; and no write with the old epoch committing once a take of a newer one has resolved,
 * even when both race.
 */
export function runFenceConformance(options: RunFenceConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('runFenceConformance');

  const test = freshEachTest(options, it);

  /** A new run, its fence taken with `epoch` unless that is null. */
  const newRun = async (store: RunStore, epoch: number | null) => {
    const runId = fresh('run');
    await store.runs.create({ id: runId, goal: 'fenced' });
    if (epoch !== null) assert.equal(await store.fences.take(runId, epoch), true);
    return runId;
  };

  /** Makes each of the eight writes through `view` and reads each back through the unfenced interface. */
  const landEach = async (store: RunStore, view: FencedRunWrites) => {
    const { runId } = view;
    const plan = { tasks: [{ id: 't1', title: 'Find "it" 🚀' }] };
    await view.updateRun({ status: 'awaiting_approval', plan });
    const record = await store.runs.get(runId);
    assert.equal(record?.status, 'awaiting_approval');
    assert.deepEqual(record?.plan, plan);
    await view.appendEvents([event(runId, 1), event(runId, 2)]);
    assert.deepEqual(await store.events.read(runId), [event(runId, 1), event(runId, 2)]);
    await view.reserve(10);
    assert.equal(await store.events.nextSeq(runId), 11);
    await view.appendStep(step(runId, 0));
    assert.deepEqual(await store.steps.replay(runId, attempt), [step(runId, 0)]);
    await view.beginCall(call(runId, '1.0'));
    const begun = await store.toolCalls.get(callKey(runId, '1.0'));
    assert.equal(begun?.state, 'started');
    assert.deepEqual(begun?.args, call(runId, '1.0').args);
    await view.completeCall(callKey(runId, '1.0'), { ok: true, output: 'fetched' });
    const completed = await store.toolCalls.get(callKey(runId, '1.0'));
    assert.equal(completed?.state, 'completed');
    assert.deepEqual(completed?.outcome, { ok: true, output: 'fetched' });
    await view.putOutcome(1, outcome('t1'));
    assert.deepEqual(await store.outcomes.get(runId, 't1', 1), outcome('t1'));
    await view.putRevision(0, revision(0));
    assert.deepEqual(await store.outcomes.lastRevision(runId), { ...revision(0), revision: 0 });
  };

  describe(`Run fence conformance: ${options.name}`, () => {
    test('takes a fence with a first epoch and each higher one, never with the same or a lower one, and reads the one held', async (store) => {
      const runId = fresh('run');
      assert.equal(await store.fences.epoch(runId), undefined, 'no fence before the first take');
      assert.equal(await store.fences.take(runId, 3), true, 'the first take');
      assert.equal(await store.fences.epoch(runId), 3);
      assert.equal(await store.fences.take(runId, 3), false, 'the same epoch again');
      assert.equal(await store.fences.take(runId, 2), false, 'a lower epoch');
      assert.equal(await store.fences.epoch(runId), 3, 'a refused take leaves the fence as it was');
      assert.equal(await store.fences.take(runId, 4), true, 'the next epoch');
      assert.equal(await store.fences.take(runId, 2 ** 40), true, 'an epoch far above, past 32 bits');
      assert.equal(await store.fences.epoch(runId), 2 ** 40);
      assert.equal(await store.fences.take(runId, 5), false);
      assert.equal(await store.fences.epoch(runId), 2 ** 40);
    });

    test("keeps each run's fence apart from every other run's", async (store) => {
      const [a, b] = [fresh('run'), fresh('run')];
      assert.equal(await store.fences.take(a, 5), true);
      assert.equal(await store.fences.epoch(b), undefined, "a take of one run is no take of another's");
      assert.equal(await store.fences.take(b, 1), true, "an epoch lower than another run's is a first take");
      assert.equal(await store.fences.take(b, 2), true);
      assert.equal(await store.fences.take(a, 5), false);
      assert.equal(await store.fences.epoch(a), 5);
      assert.equal(await store.fences.epoch(b), 2);
    });

    test("lands each of the eight writes of a view whose epoch the run's fence holds", async (store) => {
      const runId = await newRun(store, 7);
      const view = store.fenced(runId, 7);
      assert.equal(view.runId, runId);
      assert.equal(view.epoch, 7);
      await landEach(store, view);
    });

    test('refuses each write of a view whose epoch a newer take replaced with lease_lost, and writes nothing of it', async (store) => {
      const runId = await newRun(store, 1);
      const old = store.fenced(runId, 1);
      await landEach(store, old);
      const before = await stored(store, runId);
      assert.equal(await store.fences.take(runId, 2), true);
      for (const [name, write] of staleWrites(old, runId))
        await assert.rejects(write(), refused('lease_lost', { runId, epoch: 1, current: 2 }), name);
      assert.deepEqual(await stored(store, runId), before, 'nothing a refused write would have written is there');
      assert.equal(await store.fences.epoch(runId), 2, 'a refused write leaves the fence as it was');

      const current = store.fenced(runId, 2);
      await current.appendEvents([event(runId, 3)]);
      await current.putOutcome(2, outcome('t2'));
      assert.deepEqual(await store.events.read(runId, 3), [event(runId, 3)], 'the newer lease writes on');
      assert.deepEqual(await store.outcomes.get(runId, 't2', 2), outcome('t2'));
    });

    test('refuses every write of a run whose fence was never taken, and of an epoch above the one taken', async (store) => {
      const untaken = await newRun(store, null);
      const before = await stored(store, untaken);
      for (const [name, write] of staleWrites(store.fenced(untaken, 1), untaken))
        await assert.rejects(write(), refused('lease_lost', { runId: untaken, epoch: 1, current: null }), name);
      assert.deepEqual(await stored(store, untaken), before);
      assert.equal(await store.fences.epoch(untaken), undefined, 'a refused write takes no fence');

      const taken = await newRun(store, 1);
      for (const [name, write] of staleWrites(store.fenced(taken, 2), taken))
        await assert.rejects(write(), refused('lease_lost', { runId: taken, epoch: 2, current: 1 }), name);
      assert.equal(await store.fences.epoch(taken), 1);
    });

    test("keeps a view to its run: writes naming another run are input_invalid, and another run's fence is its own", async (store) => {
      const [a, b] = [await newRun(store, 1), await newRun(store, 1)];
      const viewA = store.fenced(a, 1);
      const naming = (other: string): Array<[string, () => Promise<void>]> => [
        ['appendEvents', () => viewA.appendEvents([event(a, 1), event(other, 1)])],
        ['appendStep', () => viewA.appendStep(step(other, 0))],
        ['beginCall', () => viewA.beginCall(call(other, '1.0'))],
        ['completeCall', () => viewA.completeCall(callKey(other, '1.0'), { ok: true, output: 'x' })],
      ];
      const beforeA = await stored(store, a);
      for (const [name, write] of naming(b)) await assert.rejects(write(), refused('input_invalid'), name);
      assert.deepEqual(await stored(store, a), beforeA, 'a refused write stores nothing of its own run either');
      assert.deepEqual(await store.events.read(b), []);

      assert.equal(await store.fences.take(a, 2), true);
      await assert.rejects(viewA.appendEvents([event(a, 1)]), refused('lease_lost'));
      assert.equal(await store.fences.epoch(b), 1, "a take of one run leaves another's fence");
      await landEach(store, store.fenced(b, 1));
    });

    test('lets no append with the old epoch commit once a take of a newer epoch has resolved, though both race', async (store) => {
      // Large events keep each append's transaction open a while after its check, so that a take
      // often lands inside one; over five rounds a store that lets such an append commit late fails.
      const title = 'a task title, long enough to take a while to store; '.repeat(20_000);
      for (let round = 0; round < 5; round++) await raceTake(store, await newRun(store, 1), title);
    });
  });
}

/**
 * Appends events of the run with epoch 1 (held) while a take of epoch 2 races them, and checks that
 * the events stored when the take resolved are all that ever are: each append that succeeded is
 * among them, each refused one (`lease_lost`) is not, and none sent after the take resolved succeeds.
 */
async function raceTake(store: RunStore, runId: string, title: string): Promise<void> {
  const old = store.fenced(runId, 1);
  let taken: boolean | undefined;
  const sent: Array<{ seq: number; afterTake: boolean; result: Promise<unknown> }> = [];
  const send = () => {
    const seq = sent.length + 1;
    const result = old.appendEvents([event(runId, seq, title)]).then(
      () => 'stored',
      (error: unknown) => error,
    );
    sent.push({ seq, afterTake: taken !== undefined, result });
  };
  for (let i = 0; i < 5; i++) send();
  // The take comes once the appends flow, not before the first has begun.
  assert.equal(await sent[0]!.result, 'stored');
  const take = store.fences.take(runId, 2).then((ok) => (taken = ok));
  while (taken === undefined && sent.length < 100) {
    send();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await take;
  assert.equal(taken, true);
  const seqs = async () => (await store.events.read(runId)).map((e) => e.seq);
  const atTake = await seqs();
  for (let i = 0; i < 5; i++) send();

  const results = await Promise.all(sent.map((s) => s.result));
  const final = await seqs();
  assert.deepEqual(final, atTake, 'an append with the old epoch committed after the take resolved');
  sent.forEach(({ seq, afterTake }, i) => {
    if (results[i] === 'stored') {
      assert.ok(!afterTake, `append ${seq}, sent after the take resolved, succeeded`);
      assert.ok(final.includes(seq), `append ${seq} resolved but is not stored`);
    } else {
      refused('lease_lost')(results[i]);
      assert.ok(!final.includes(seq), `append ${seq} was refused but is stored`);
    }
  });
}
