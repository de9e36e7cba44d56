import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  callDigest,
  type ToolCallJournal,
  type ToolCallKey,
  type ToolCallOutcome,
  type ToolCallRecord,
  type ToolCallStart,
} from '../core/index.js';
import { pause, freshEachTest, globalTestApi, type ConformanceOptions } from './conformance-kit.js';

/** What {@link toolCallJournalConformance} runs against: a ToolCallJournal made afresh for each test. */
export type ToolCallJournalConformanceOptions = ConformanceOptions<ToolCallJournal>;

const freshKey = (): ToolCallKey => ({ runId: `run-${randomUUID()}`, taskId: 't1', callId: '1.0' });

/** A call of `tool` with arguments a journal must keep exactly, and their digest. */
function start(key: ToolCallKey, tool = 'write_file', text = 'line one\nline "two" 🚀 日本語'): ToolCallStart {
  const args = { path: 'C:\\notes\\日本.txt', text, lines: [1, 2], options: { overwrite: true, mode: null } };
  return { ...key, tool, args, digest: callDigest(tool, args) };
}

const done: ToolCallOutcome = { ok: true, output: 'wrote 42 bytes\n"done" 🚀' };
const failed: ToolCallOutcome = {
  ok: false,
  output: 'tool_failed: permission denied',
  error: { code: 'tool_failed', kind: 'system', message: 'EACCES: "C:\\notes"\nread-only' },
};

const within = (stamp: number | undefined, before: number, after: number, what: string) =>
  assert.ok(
    stamp !== undefined && stamp >= before && stamp <= after,
    `${what} ${stamp} is not in [${before}, ${after}]`,
  );

/**
 * Defines the behaviour every ToolCallJournal must show (in memory, SQLite, PostgreSQL) as a
 * `describe` block: a begun call read back as started with its tool, arguments and digest; a
 * completed one with its outcome; calls whose keys differ in any part kept apart; a second `begin`
 * starting the record afresh; `complete` of a call never begun recording nothing; a second
 * `complete` replacing the outcome. Times are the journal's clock, checked against the clock around
 * each call. Every call is awaited, so journals may answer synchronously or not.
 */
export function toolCallJournalConformance(options: ToolCallJournalConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('toolCallJournalConformance');

  const test = freshEachTest(options, it);

  /** Begins a call and reads it back, checking it reads as started now. */
  const begin = async (journal: ToolCallJournal, call: ToolCallStart): Promise<ToolCallRecord> => {
    const before = Date.now();
    await journal.begin(call);
    const after = Date.now();
    const record = await journal.get(call);
    assert.ok(record, `call ${call.callId} of ${call.runId} is not recorded after begin`);
    within(record.startedAt, before, after, 'startedAt');
    assert.deepEqual(record, { ...call, state: 'started', startedAt: record.startedAt });
    return record;
  };

  /** Completes a begun call and reads it back, checking it reads as completed now with `outcome`. */
  const complete = async (journal: ToolCallJournal, call: ToolCallStart, outcome: ToolCallOutcome) => {
    const begun = await journal.get(call);
    const before = Date.now();
    await journal.complete(call, outcome);
    const after = Date.now();
    const record = await journal.get(call);
    assert.ok(record && begun, `call ${call.callId} of ${call.runId} is not recorded`);
    within(record.completedAt, Math.max(before, begun.startedAt), after, 'completedAt');
    assert.deepEqual(record, {
      ...call,
      state: 'completed',
      outcome,
      startedAt: begun.startedAt,
      completedAt: record.completedAt,
    });
    return record;
  };

  describe(`ToolCallJournal conformance: ${options.name}`, () => {
    test('records a begun call as started, with its tool, arguments and digest, stamped now, no outcome', async (journal) => {
      await begin(journal, start(freshKey()));
    });

    test('records a completed call with its outcome, completedAt at or after startedAt', async (journal) => {
      const call = start(freshKey());
      await begin(journal, call);
      await pause();
      const record = await complete(journal, call, done);
      assert.ok(record.completedAt! > record.startedAt, 'completedAt moved on with the clock');
    });

    test('records a failed call with ok false, its output and its error', async (journal) => {
      const call = start(freshKey());
      await begin(journal, call);
      await complete(journal, call, failed);
    });

    test('reads a call never begun as undefined', async (journal) => {
      const call = start(freshKey());
      await begin(journal, call);
      assert.equal(await journal.get({ ...call, callId: '1.1' }), undefined, 'another call of the task');
      assert.equal(await journal.get({ ...call, callId: '1' }), undefined, 'a prefix of the call id');
      assert.equal(await journal.get({ ...call, taskId: 't2' }), undefined, 'the call of another task');
      assert.equal(await journal.get({ ...freshKey(), callId: call.callId }), undefined, 'the call of another run');
    });

    test('keeps calls apart whose keys differ only in runId, taskId or callId', async (journal) => {
      const base = start(freshKey());
      const others = [
        start({ ...base, runId: `${base.runId}-b` }, 'http_get', 'other run'),
        start({ ...base, taskId: 't1#2' }, 'send_mail', 'other task'),
        start({ ...base, callId: '1.1' }, 'delete_file', 'other call'),
      ];
      await begin(journal, base);
      for (const call of others) await begin(journal, call);
      await complete(journal, others[1]!, failed);
      await complete(journal, base, done);
      assert.equal((await journal.get(others[0]!))?.state, 'started');
      assert.deepEqual((await journal.get(others[1]!))?.outcome, failed);
      assert.equal((await journal.get(others[2]!))?.state, 'started');
      assert.deepEqual((await journal.get(base))?.outcome, done);
    });

    test('starts the record afresh when a call is begun again: the new tool, arguments and digest, no outcome', async (journal) => {
      const call = start(freshKey());
      const first = await begin(journal, call);
      await complete(journal, call, done);
      await pause();
      const again = await begin(journal, start(call, 'append_line', 'asked again with other arguments'));
      assert.ok(again.startedAt > first.startedAt, 'startedAt is the second begin');
    });

    test('records nothing when a call never begun is completed, and a later begin starts it clean', async (journal) => {
      const call = start(freshKey());
      await journal.complete(call, done);
      assert.equal(await journal.get(call), undefined);
      await begin(journal, call);
    });

    test('replaces the outcome when a completed call is completed again', async (journal) => {
      const call = start(freshKey());
      await begin(journal, call);
      const first = await complete(journal, call, failed);
      await pause();
      const second = await complete(journal, call, done);
      assert.ok(second.completedAt! > first.completedAt!, 'completedAt is the second completion');
    });
  });
}
