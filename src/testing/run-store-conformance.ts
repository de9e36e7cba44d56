import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CadreEvent, RunRecord, RunStore } from '../core/index.js';
import { pause, hasCode, freshEachTest, globalTestApi, type ConformanceOptions } from './conformance-kit.js';

/** What {@link runStoreConformance} runs against: a RunStore made afresh for each test. */
export type RunStoreConformanceOptions = ConformanceOptions<RunStore>;

/** Event times are fixed; only run stamps (the store's own clock) are read around the calls. */
const t0 = Date.UTC(2026, 5, 1, 12);
const fresh = (prefix: string) => `${prefix}-${randomUUID()}`;

/** Resolves with `work`, or fails the test with `message` after `ms`. */
async function within(work: Promise<void>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Text a store must keep byte for byte: quotes, backslashes, control characters, emoji, CJK, RTL. */
const awkward =
  'He said "hi" and \'bye\'; C:\\path\\to\\file; line one\nline two\r\n\ttabbed; ' +
  '{"looks":"like json"} </script> 🚀👩‍💻 日本語のテキスト 中文 한국어 العربية e\u0301 \u2028\u2029 \u0001 \uFFFD';

const usage = { inputTokens: 120, outputTokens: 45, totalTokens: 165 };

const runStarted = (runId: string, seq: number, goal = 'Summarise the incidents'): CadreEvent => ({
  type: 'run.started',
  runId,
  seq,
  ts: t0 + seq,
  goal,
});

const taskStarted = (runId: string, seq: number, taskId = 't1'): CadreEvent => ({
  type: 'task.started',
  runId,
  seq,
  ts: t0 + seq,
  taskId,
  agent: 'researcher',
  role: 'research',
  title: 'Find the incidents',
  attempt: 1,
});

const taskCompleted = (runId: string, seq: number, answer: string, taskId = 't1'): CadreEvent => ({
  type: 'task.completed',
  runId,
  seq,
  ts: t0 + seq,
  taskId,
  answer,
  steps: 3,
  usage,
  costUsd: 0.0125,
});

const toolResult = (runId: string, seq: number, output: string): CadreEvent => ({
  type: 'tool.result',
  runId,
  seq,
  ts: t0 + seq,
  taskId: 't1',
  step: 2,
  callId: 'call-1',
  tool: 'http_get',
  ok: false,
  output,
  error: { code: 'tool_failed', kind: 'system', message: `failed: ${output.slice(0, 40)}` },
  truncated: false,
  attempts: 2,
  durationMs: 830,
  replayed: false,
});

const runCompleted = (runId: string, seq: number): CadreEvent => ({
  type: 'run.completed',
  runId,
  seq,
  ts: t0 + seq,
  status: 'completed',
  answer: 'Three incidents, all resolved.',
  usage,
  costUsd: 0.0125,
  steps: 3,
  durationMs: 4200,
});

/** Checks that records are ordered newest first (createdAt never rising). */
function assertNewestFirst(records: readonly RunRecord[]): void {
  for (let i = 1; i < records.length; i++)
    assert.ok(
      records[i - 1]!.createdAt >= records[i]!.createdAt,
      `run ${records[i]!.id} (created ${records[i]!.createdAt}) is listed after an older one`,
    );
}

/**
 * Defines the behaviour every RunStore must show (the embedded SQLite file and PostgreSQL) as a
 * `describe` block: runs created, read, updated and refused (`run_conflict`, `run_not_found`),
 * listed newest first and by owner; events appended all or none, replaced by (run, seq), read in
 * seq order from any seq; seq reservations; and JSON kept exactly, large or awkward text included.
 * Run times are the store's clock and are checked against the clock around each call.
 */
export function runStoreConformance(options: RunStoreConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('runStoreConformance');

  const test = freshEachTest(options, it);

  /** Reads a run the test created, failing the test when it is gone. */
  const must = async (store: RunStore, id: string): Promise<RunRecord> => {
    const record = await store.runs.get(id);
    assert.ok(record, `run ${id} is gone`);
    return record;
  };

  /** Creates runs one after another, each with a later createdAt than the one before. */
  const createInTurn = async (store: RunStore, settings: ReadonlyArray<Record<string, unknown> | undefined>) => {
    const records: RunRecord[] = [];
    for (const [i, s] of settings.entries()) {
      if (i > 0) await pause();
      const id = fresh('run');
      await store.runs.create({ id, goal: `goal ${i}`, ...(s ? { settings: s } : {}) });
      records.push(await must(store, id));
    }
    for (let i = 1; i < records.length; i++)
      assert.ok(records[i]!.createdAt > records[i - 1]!.createdAt, 'runs created in turn have rising createdAt');
    return records;
  };

  const ids = (records: readonly RunRecord[]) => records.map((record) => record.id);

  describe(`RunStore conformance: ${options.name}`, () => {
    test('creates a run as running, stamped now, with its settings as given (none if none given), no plan or result', async (store) => {
      const id = fresh('run');
      const settings = {
        config: { model: 'ollama:llama3.1', temperature: 0.25, maxSteps: 12, budget: { maxCostUsd: 1.5 } },
        teams: ['research', 'écriture', '日本語チーム'],
        owner: { key: fresh('key'), user: 'user-ü-🚀' },
        numbers: [0, 1, -7, 3.141592653589793, 1e21, 2 ** 53 - 1, 1e-7],
        flags: { on: true, off: false, none: null },
        empty: { object: {}, array: [], text: '' },
        nested: { a: { b: { c: { d: ['deep', { e: 'deeper' }] } } } },
      };
      const before = Date.now();
      await store.runs.create({ id, goal: 'Summarise the incidents', settings });
      const after = Date.now();
      const record = await must(store, id);
      assert.equal(record.id, id);
      assert.equal(record.goal, 'Summarise the incidents');
      assert.equal(record.status, 'running');
      assert.equal(typeof record.createdAt, 'number');
      assert.ok(
        record.createdAt >= before && record.createdAt <= after,
        `createdAt ${record.createdAt} outside [${before}, ${after}]`,
      );
      assert.equal(record.updatedAt, record.createdAt);
      assert.deepEqual(record.settings, settings);
      assert.equal('plan' in record, false, 'a run never planned has no plan key');
      assert.equal('result' in record, false, 'a run never ended has no result key');

      const bare = fresh('run');
      await store.runs.create({ id: bare, goal: 'no settings' });
      const bareRecord = await must(store, bare);
      assert.equal(bareRecord.status, 'running');
      assert.equal(bareRecord.settings, undefined, 'a run created without settings reads back without them');
    });

    test('refuses to create a run whose id exists (run_conflict) and keeps the stored run', async (store) => {
      const id = fresh('run');
      await store.runs.create({ id, goal: 'first goal', settings: { teams: ['a'], owner: { key: fresh('key') } } });
      const stored = await must(store, id);
      await pause();
      await assert.rejects(
        store.runs.create({ id, goal: 'second goal', settings: { teams: ['b'], owner: { key: fresh('key') } } }),
        hasCode('run_conflict'),
      );
      await assert.rejects(store.runs.create({ id, goal: 'third goal' }), hasCode('run_conflict'));
      assert.deepEqual(await must(store, id), stored);
    });

    test('updates status, plan and result, keeping what a patch leaves out and moving updatedAt to now', async (store) => {
      const id = fresh('run');
      const settings = { teams: ['research'] };
      await store.runs.create({ id, goal: 'Plan and run', settings });
      const created = await must(store, id);

      const update = async (patch: Parameters<RunStore['runs']['update']>[1], previous: RunRecord) => {
        await pause();
        const before = Date.now();
        await store.runs.update(id, patch);
        const after = Date.now();
        const record = await must(store, id);
        assert.ok(record.updatedAt >= previous.updatedAt, 'updatedAt never moves back');
        assert.ok(
          record.updatedAt >= before && record.updatedAt <= after,
          `updatedAt ${record.updatedAt} outside [${before}, ${after}]`,
        );
        assert.equal(record.createdAt, created.createdAt, 'createdAt is kept');
        assert.equal(record.goal, 'Plan and run');
        assert.deepEqual(record.settings, settings);
        return record;
      };

      const plan = { goal: 'Plan and run', tasks: [{ id: 't1', title: 'Find', role: 'research', dependsOn: [] }] };
      const planned = await update({ plan }, created);
      assert.deepEqual(planned.plan, plan);
      assert.equal(planned.status, 'running', 'a patch without status keeps the status');
      assert.equal('result' in planned, false);

      const waiting = await update({ status: 'awaiting_approval' }, planned);
      assert.equal(waiting.status, 'awaiting_approval');
      assert.deepEqual(waiting.plan, plan, 'a patch without plan keeps the plan');
      assert.equal('result' in waiting, false);

      const result = { answer: 'Done', usage, costUsd: 0.0125 };
      const ended = await update({ status: 'completed', result }, waiting);
      assert.equal(ended.status, 'completed');
      assert.deepEqual(ended.result, result);
      assert.deepEqual(ended.plan, plan);

      const touched = await update({}, ended);
      assert.equal(touched.status, 'completed', 'an empty patch changes nothing but updatedAt');
      assert.deepEqual(touched.plan, plan);
      assert.deepEqual(touched.result, result);
    });

    test('keeps any JSON as plan and result: objects, arrays, strings, numbers, booleans', async (store) => {
      const id = fresh('run');
      await store.runs.create({ id, goal: 'JSON' });
      const values: unknown[] = [
        { nested: { list: [1, 'two', { three: 3, four: [true, false, null] }] }, empty: {} },
        ['step one', { step: 2 }, [3, [4]], 5.5],
        [],
        'a plain string',
        '',
        awkward,
        42,
        0,
        -1.25,
        true,
        false,
      ];
      for (const value of values) {
        await store.runs.update(id, { plan: value });
        assert.deepEqual((await must(store, id)).plan, value, `plan ${JSON.stringify(value)}`);
        await store.runs.update(id, { result: value });
        assert.deepEqual((await must(store, id)).result, value, `result ${JSON.stringify(value)}`);
      }
    });

    test('refuses to update an unknown run (run_not_found) and does not create it', async (store) => {
      const id = fresh('missing');
      await assert.rejects(store.runs.update(id, { status: 'completed' }), hasCode('run_not_found'));
      await assert.rejects(store.runs.update(id, { result: { answer: 'x' } }), hasCode('run_not_found'));
      assert.equal(await store.runs.get(id), undefined);
    });

    test('reads an unknown run as undefined', async (store) => {
      assert.equal(await store.runs.get(fresh('missing')), undefined);
    });

    test('keeps goals with quotes, backslashes, newlines, emoji and CJK exactly', async (store) => {
      const id = fresh('run');
      await store.runs.create({ id, goal: awkward, settings: { note: awkward, [awkward]: 'key' } });
      const record = await must(store, id);
      assert.equal(record.goal, awkward);
      assert.deepEqual(record.settings, { note: awkward, [awkward]: 'key' });
    });

    test('lists the newest runs first, at most limit (default 50)', async (store) => {
      const [a, b, c] = await createInTurn(store, [undefined, { n: 2 }, { n: 3 }]);
      const mine = new Map([a!, b!, c!].map((record) => [record.id, record]));

      const all = await store.runs.list();
      assert.ok(all.length <= 50, `list() gave ${all.length} runs`);
      assertNewestFirst(all);
      assert.deepEqual(
        all.filter((record) => mine.has(record.id)),
        [c, b, a],
        "list() holds this test's runs, newest first, as get reads them",
      );

      // The two newest in the store: this test's last two, unless another writer created runs since.
      const two = await store.runs.list(2);
      assert.equal(two.length, 2);
      assertNewestFirst(two);
      for (const record of two) {
        if (mine.has(record.id)) assert.ok(record.id !== a!.id, 'list(2) left out a newer run for an older one');
        else assert.ok(record.createdAt >= c!.createdAt, `list(2) gave ${record.id}, older than this test's runs`);
      }
      const one = await store.runs.list(1);
      assert.equal(one.length, 1);
      assert.ok(one[0]!.createdAt >= c!.createdAt);
    });

    test('lists owned runs newest first by key, user, key and user, before and limit', async (store) => {
      const key = fresh('key');
      const otherKey = fresh('key');
      const u1 = fresh('user');
      const u2 = fresh('user');
      const [keyOnly, r1, r2, r3, foreign, ownerless, bare] = await createInTurn(store, [
        { owner: { key } },
        { owner: { key, user: u1 } },
        { owner: { key, user: u2 } },
        { owner: { key, user: u1 }, teams: ['x'] },
        { owner: { key: otherKey, user: u1 } },
        { teams: ['no owner'] },
        undefined,
      ]);

      const byKey = await store.runs.listOwned({ key });
      assert.deepEqual(ids(byKey), ids([r3!, r2!, r1!, keyOnly!]), 'by key: its runs only, newest first');
      assert.deepEqual(byKey, [r3, r2, r1, keyOnly], 'listed runs read as get reads them');
      assert.ok(
        !byKey.some((record) => record.id === ownerless!.id || record.id === bare!.id),
        'a run without owner never matches a key',
      );
      assert.deepEqual(ids(await store.runs.listOwned({ key: otherKey })), [foreign!.id]);
      assert.deepEqual(await store.runs.listOwned({ key: fresh('key') }), [], 'an unknown key matches nothing');

      assert.deepEqual(ids(await store.runs.listOwned({ key, user: u1 })), ids([r3!, r1!]), 'by key and user');
      assert.deepEqual(ids(await store.runs.listOwned({ key, user: u2 })), [r2!.id]);
      assert.deepEqual(ids(await store.runs.listOwned({ key: otherKey, user: u2 })), []);
      assert.deepEqual(
        ids(await store.runs.listOwned({ user: u1 })),
        ids([foreign!, r3!, r1!]),
        'by user alone: whatever key started them',
      );

      assert.deepEqual(ids(await store.runs.listOwned({ key, before: r3!.createdAt })), ids([r2!, r1!, keyOnly!]));
      assert.deepEqual(
        ids(await store.runs.listOwned({ key, before: r2!.createdAt })),
        ids([r1!, keyOnly!]),
        'before is strict: a run created at `before` is left out',
      );
      assert.deepEqual(ids(await store.runs.listOwned({ key, before: keyOnly!.createdAt })), []);
      assert.deepEqual(ids(await store.runs.listOwned({ key, before: r3!.createdAt + 1 })), ids(byKey));
      assert.deepEqual(ids(await store.runs.listOwned({ key, user: u1, before: r3!.createdAt })), [r1!.id]);

      assert.deepEqual(ids(await store.runs.listOwned({ key, limit: 2 })), ids([r3!, r2!]), 'limit keeps the newest');
      assert.deepEqual(ids(await store.runs.listOwned({ user: u1, limit: 1 })), [foreign!.id]);
      assert.deepEqual(
        ids(await store.runs.listOwned({ key, before: r3!.createdAt, limit: 1 })),
        [r2!.id],
        'limit applies after before',
      );

      const unfiltered = await store.runs.listOwned({});
      assert.ok(unfiltered.length <= 50, `listOwned({}) gave ${unfiltered.length} runs (default limit 50)`);
      assertNewestFirst(unfiltered);
    });

    test('stores events and reads them in seq order, from any seq, for their run only; an empty list stores nothing', async (store) => {
      const runId = fresh('run');
      const otherId = fresh('run');
      await store.runs.create({ id: runId, goal: 'events' });
      await store.runs.create({ id: otherId, goal: 'other events' });
      const events = [
        runStarted(runId, 1),
        taskStarted(runId, 2),
        toolResult(runId, 3, 'connection refused'),
        taskCompleted(runId, 4, 'Three incidents'),
        runCompleted(runId, 5),
      ];
      const others = [runStarted(otherId, 1, 'other goal'), taskStarted(otherId, 2, 't9')];
      await store.events.append([events[0]!, others[0]!, ...events.slice(1), others[1]!]);

      assert.deepEqual(await store.events.read(runId), events);
      assert.deepEqual(await store.events.read(runId, 1), events);
      assert.deepEqual(await store.events.read(runId, 3), events.slice(2));
      assert.deepEqual(await store.events.read(runId, 5), events.slice(4));
      assert.deepEqual(await store.events.read(runId, 6), []);
      assert.deepEqual(await store.events.read(otherId), others);
      assert.deepEqual(await store.events.read(fresh('run')), [], 'a run without events reads as none');

      await store.events.append([]);
      assert.deepEqual(await store.events.read(runId), events, 'an empty list stores nothing');
    });

    test('reads events appended out of seq order back in seq order', async (store) => {
      const runId = fresh('run');
      await store.runs.create({ id: runId, goal: 'out of order' });
      const events = [
        runStarted(runId, 1),
        taskStarted(runId, 2),
        taskCompleted(runId, 3, 'ok'),
        runCompleted(runId, 4),
      ];
      await store.events.append([events[3]!, events[0]!]);
      await store.events.append([events[2]!]);
      await store.events.append([events[1]!]);
      assert.deepEqual(await store.events.read(runId), events);
      assert.deepEqual(await store.events.read(runId, 2), events.slice(1));
      assert.equal(await store.events.lastSeq(runId), 4);
    });

    test('replaces an event whose run and seq are stored already', async (store) => {
      const runId = fresh('run');
      const otherId = fresh('run');
      await store.runs.create({ id: runId, goal: 'replace' });
      await store.runs.create({ id: otherId, goal: 'kept' });
      await store.events.append([runStarted(runId, 1), taskStarted(runId, 2), runStarted(otherId, 2)]);
      const replacement = taskCompleted(runId, 2, 'the second version');
      await store.events.append([replacement]);
      assert.deepEqual(await store.events.read(runId), [runStarted(runId, 1), replacement]);
      assert.deepEqual(
        await store.events.read(otherId),
        [runStarted(otherId, 2)],
        'the same seq of another run is kept',
      );
      assert.equal(await store.events.lastSeq(runId), 2);
    });

    test('gives lastSeq 0 for a run without events and the highest stored seq otherwise', async (store) => {
      const runId = fresh('run');
      await store.runs.create({ id: runId, goal: 'last seq' });
      assert.equal(await store.events.lastSeq(runId), 0);
      assert.equal(await store.events.lastSeq(fresh('missing')), 0);
      await store.events.append([runStarted(runId, 1), taskStarted(runId, 7), taskCompleted(runId, 2, 'ok')]);
      assert.equal(await store.events.lastSeq(runId), 7);
      await store.events.reserve(runId, 20);
      assert.equal(await store.events.lastSeq(runId), 7, 'a reservation is no stored event');
    });

    test('rejects a list holding an event that cannot be serialised (a BigInt) and stores none of it', async (store) => {
      const runId = fresh('run');
      const otherId = fresh('run');
      await store.runs.create({ id: runId, goal: 'all or none' });
      await store.runs.create({ id: otherId, goal: 'all or none, too' });
      const first = runStarted(runId, 1);
      await store.events.append([first]);
      const unserialisable = { ...taskStarted(runId, 3), attempt: BigInt(2) } as unknown as CadreEvent;
      await assert.rejects(
        store.events.append([
          runStarted(runId, 1, 'would replace the first'),
          taskStarted(runId, 2),
          runStarted(otherId, 1),
          unserialisable,
          taskCompleted(runId, 4, 'after the bad one'),
        ]),
      );
      assert.deepEqual(await store.events.read(runId), [first], 'the stored event is kept, no new one stored');
      assert.deepEqual(await store.events.read(otherId), []);
      assert.equal(await store.events.lastSeq(runId), 1);
      assert.equal(await store.events.lastSeq(otherId), 0);

      await store.events.append([taskStarted(runId, 2)]);
      assert.deepEqual(await store.events.read(runId), [first, taskStarted(runId, 2)], 'the store takes writes after');
    });

    test('reserves seqs: nextSeq follows every stored and reserved seq and never moves back', async (store) => {
      const runId = fresh('run');
      const otherId = fresh('run');
      await store.runs.create({ id: runId, goal: 'reserve' });
      assert.equal(await store.events.nextSeq(runId), 1);
      assert.equal(await store.events.nextSeq(fresh('missing')), 1, 'an unknown run starts at 1');

      await store.events.reserve(runId, 10);
      assert.equal(await store.events.nextSeq(runId), 11, 'reserved seqs count with no event stored');
      assert.deepEqual(await store.events.read(runId), []);
      await store.events.reserve(runId, 3);
      assert.equal(await store.events.nextSeq(runId), 11, 'a lower reservation does not lower it');

      await store.events.append(
        Array.from({ length: 12 }, (_, i) => (i === 0 ? runStarted(runId, 1) : taskStarted(runId, i + 1, `t${i}`))),
      );
      assert.equal(await store.events.nextSeq(runId), 13, 'stored events past the reservation count');
      await store.events.reserve(runId, 5);
      assert.equal(await store.events.nextSeq(runId), 13);
      await store.events.reserve(runId, 20);
      assert.equal(await store.events.nextSeq(runId), 21);
      await store.events.reserve(runId, 15);
      assert.equal(await store.events.nextSeq(runId), 21);
      await store.events.reserve(runId, 20);
      assert.equal(await store.events.nextSeq(runId), 21, 'the same reservation again changes nothing');

      assert.equal(await store.events.nextSeq(otherId), 1, "one run's reservations are not another's");
    });

    test('keeps a 200 KB event and awkward text (quotes, backslashes, newlines, emoji, CJK) exactly', async (store) => {
      const runId = fresh('run');
      await store.runs.create({ id: runId, goal: 'large' });
      const chunk = 'Lorem ipsum "quoted" \\ back\nslash 日本語 🚀 ';
      const large = chunk.repeat(Math.ceil(200_000 / chunk.length)).slice(0, 200_000);
      const events: CadreEvent[] = [
        runStarted(runId, 1, awkward),
        taskCompleted(runId, 2, large),
        toolResult(runId, 3, awkward),
        {
          type: 'tool.called',
          runId,
          seq: 4,
          ts: t0 + 4,
          taskId: 't1',
          step: 1,
          callId: 'call-"1"',
          tool: 'write_file',
          args: { path: 'C:\\notes\\日本.txt', text: awkward, [awkward]: ['🚀', { '': '' }], n: 1.5 },
          effects: 'write',
          replayed: false,
        },
      ];
      await store.events.append(events);
      const read = await store.events.read(runId);
      assert.deepEqual(read, events);
      const answer = read[1]?.type === 'task.completed' ? read[1].answer : undefined;
      assert.equal(answer?.length, 200_000);
      assert.equal(answer, large);
    });

    test('follows a run: its stored events from a seq, then each one stored later, in order, once, until aborted', async (store) => {
      const runId = fresh('run');
      const other = fresh('run');
      await store.runs.create({ id: runId, goal: 'followed' });
      await store.runs.create({ id: other, goal: 'not followed' });
      await store.events.append([runStarted(runId, 1), taskStarted(runId, 2)]);
      const stop = new AbortController();
      const seen: number[] = [];
      const following = (async () => {
        for await (const event of store.events.follow(runId, 2, stop.signal)) {
          assert.equal(event.runId, runId);
          seen.push(event.seq);
          if (event.seq === 6) stop.abort();
        }
      })();
      await pause(20);
      await store.events.append([toolResult(runId, 3, 'three')]);
      await pause(5);
      await store.events.append([toolResult(runId, 4, 'four'), toolResult(runId, 5, 'five')]);
      await store.events.append([runStarted(other, 1)]);
      await store.events.append([taskCompleted(runId, 6, 'done')]);
      await within(following, 10_000, 'the follower did not see seq 6 within 10 s');
      assert.deepEqual(seen, [2, 3, 4, 5, 6]);
    });

    test('ends a follow when its signal aborts while it waits for events', async (store) => {
      const runId = fresh('run');
      await store.runs.create({ id: runId, goal: 'quiet' });
      const stop = new AbortController();
      const seen: number[] = [];
      const following = (async () => {
        for await (const event of store.events.follow(runId, 1, stop.signal)) seen.push(event.seq);
      })();
      await pause(20);
      stop.abort();
      await within(following, 5_000, 'the follower did not end within 5 s of its abort');
      assert.deepEqual(seen, []);
    });
  });
}
