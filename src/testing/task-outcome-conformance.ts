import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RevisionRecord, TaskOutcome, TaskOutcomeStore } from '../core/index.js';
import { freshEachTest, globalTestApi, type ConformanceOptions } from './conformance-kit.js';

/** What {@link taskOutcomeStoreConformance} runs against: a TaskOutcomeStore made afresh for each test. */
export type TaskOutcomeStoreConformanceOptions = ConformanceOptions<TaskOutcomeStore>;

const fresh = (prefix: string) => `${prefix}-${randomUUID()}`;

/** Text a store must keep exactly: quotes, backslashes, control characters, emoji, CJK, RTL. */
const awkward =
  'He said "hi" and \'bye\'; C:\\path\\to\\file; line one\nline two\r\n\ttabbed; ' +
  '{"looks":"like json"} </script> 🚀👩‍💻 日本語のテキスト 中文 한국어 العربية e\u0301 \u2028\u2029 \u0000 \u0001 \uFFFD';

/** A completed task with every field a completed one can have. */
const completed = (taskId: string, over: Partial<TaskOutcome> = {}): TaskOutcome => ({
  taskId,
  title: 'Summarise the incidents «2026»',
  role: 'writer',
  status: 'completed',
  answer: `Three incidents:\n1. ${awkward}\n2. none since`,
  output: {
    incidents: [
      { id: 'INC-1', severity: 2, resolved: true, owner: null, notes: 'line one\nline two 日本語' },
      { id: 'INC-2', severity: 1.5, resolved: false, tags: [], extra: {} },
    ],
    total: 2,
  },
  attempts: 2,
  steps: 7,
  usage: { inputTokens: 123_456, outputTokens: 7890, totalTokens: 131_346 },
  costUsd: 0.012345678901234,
  model: 'ollama:llama3.1',
  durationMs: 4321,
  revision: 1,
  toolErrors: 2,
  ...over,
});

/** A task that failed: no answer, its error kept. */
const failed = (taskId: string): TaskOutcome => ({
  taskId,
  title: 'Fetch the incident list',
  role: 'research',
  status: 'failed',
  answer: null,
  error: { code: 'tool_failed', kind: 'system', message: 'No such file: "C:\\notes\\日本.txt"\nchecked twice 🚀' },
  attempts: 3,
  steps: 12,
  usage: { inputTokens: 900, outputTokens: 30, totalTokens: 930 },
  costUsd: 0,
  model: 'openai:gpt-4o-mini',
  durationMs: 15_000,
  revision: 0,
  toolErrors: 3,
});

/** A task skipped because one it depended on failed: no attempts, no usage. */
const skipped = (taskId: string): TaskOutcome => ({
  taskId,
  title: 'Write the report',
  role: 'writer',
  status: 'skipped',
  answer: null,
  error: { code: 'task_failed', kind: 'system', message: 'Skipped: t1 failed' },
  attempts: 0,
  steps: 0,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  durationMs: 0,
  revision: 0,
});

/** A plan revision as a run without a workflow keeps it. */
const revision = (label: string, over: Partial<RevisionRecord> = {}): RevisionRecord => ({
  graph: {
    goal: `Report on the incidents (${label}) — 日本語 🚀\n"quoted"`,
    tasks: [
      { id: 't1', title: 'Fetch', role: 'research', dependsOn: [] },
      { id: 't2', title: 'Write', role: 'writer', dependsOn: ['t1'], expectedOutput: { type: 'object' } },
    ],
  },
  attempts: { t1: 3, t2: 1 },
  completed: { t1: 2 },
  ...over,
});

/**
 * Defines the behaviour every TaskOutcomeStore must show (SQLite, PostgreSQL) as a `describe`
 * block: an outcome read back exactly as put, by run, task and first attempt, and replaced when put
 * again there; runs kept apart; the highest plan revision given as the last whatever the order they
 * were kept in, and revisions never read as task outcomes. Every call is awaited.
 */
export function taskOutcomeStoreConformance(options: TaskOutcomeStoreConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('taskOutcomeStoreConformance');

  const test = freshEachTest(options, it);

  describe(`TaskOutcomeStore conformance: ${options.name}`, () => {
    test('reads back each outcome exactly as put: answer, output, error, usage, cost, model, tool errors', async (store) => {
      const runId = fresh('run');
      const outcomes = [completed('t1'), failed('t2'), skipped('t3')];
      for (const outcome of outcomes) await store.put(runId, 1, outcome);
      for (const outcome of outcomes) assert.deepEqual(await store.get(runId, outcome.taskId, 1), outcome);
    });

    test('reads an outcome never put as undefined', async (store) => {
      const runId = fresh('run');
      await store.put(runId, 2, completed('t1'));
      assert.equal(await store.get(runId, 't1', 1), undefined, 'another first attempt');
      assert.equal(await store.get(runId, 't2', 2), undefined, 'another task');
      assert.equal(await store.get(runId, 't', 2), undefined, 'a prefix of the task id');
      assert.equal(await store.get(`${runId}-b`, 't1', 2), undefined, 'another run');
      assert.equal(await store.get(fresh('run'), 't1', 2), undefined, 'a run with no outcomes');
    });

    test('keeps the outcomes of different first attempts of one task apart', async (store) => {
      const runId = fresh('run');
      // A task that failed under the first plan and was run again under a revision.
      const first = { ...failed('t1'), revision: 0 };
      const again = completed('t1', { revision: 1 });
      await store.put(runId, 1, first);
      await store.put(runId, 4, again);
      assert.deepEqual(await store.get(runId, 't1', 1), first);
      assert.deepEqual(await store.get(runId, 't1', 4), again);
      assert.equal(await store.get(runId, 't1', 2), undefined);
    });

    test('replaces an outcome put again under the same run, task and first attempt, keeping none of its fields', async (store) => {
      const runId = fresh('run');
      await store.put(runId, 1, completed('t1'));
      const replacement = failed('t1');
      await store.put(runId, 1, replacement);
      assert.deepEqual(await store.get(runId, 't1', 1), replacement);
    });

    test('never mixes the outcomes or revisions of other runs', async (store) => {
      const [runA, runB] = [fresh('run'), fresh('run')];
      const [outcomeA, outcomeB] = [completed('t1', { answer: 'A' }), completed('t1', { answer: 'B' })];
      await store.put(runA, 1, outcomeA);
      await store.put(runB, 1, outcomeB);
      await store.putRevision(runA, 0, revision('A'));
      await store.putRevision(runB, 0, revision('B'));
      await store.putRevision(runB, 5, revision('B5'));
      assert.deepEqual(await store.get(runA, 't1', 1), outcomeA);
      assert.deepEqual(await store.get(runB, 't1', 1), outcomeB);
      assert.deepEqual(await store.lastRevision(runA), { ...revision('A'), revision: 0 });
      assert.deepEqual(await store.lastRevision(runB), { ...revision('B5'), revision: 5 });
    });

    test('gives the highest revision as the last whatever the order they were put in, with its plan, attempts and completed tasks', async (store) => {
      const runId = fresh('run');
      for (const n of [1, 3, 0, 2]) await store.putRevision(runId, n, revision(`r${n}`, { attempts: { t1: n } }));
      assert.deepEqual(await store.lastRevision(runId), { ...revision('r3', { attempts: { t1: 3 } }), revision: 3 });
      // By number, not as text: 10 comes after 3.
      await store.putRevision(runId, 10, revision('r10'));
      assert.deepEqual(await store.lastRevision(runId), { ...revision('r10'), revision: 10 });
    });

    test('replaces a revision put again under the same number, and keeps one with only a first attempt as put', async (store) => {
      const runId = fresh('run');
      await store.putRevision(runId, 2, revision('before'));
      const legacy: RevisionRecord = { graph: revision('single agent').graph, firstAttempt: 3 };
      await store.putRevision(runId, 2, legacy);
      assert.deepEqual(await store.lastRevision(runId), { ...legacy, revision: 2 });
    });

    test('gives no last revision for a run that kept none, outcomes or not', async (store) => {
      assert.equal(await store.lastRevision(fresh('run')), undefined);
      const runId = fresh('run');
      await store.put(runId, 1, completed('t1'));
      assert.equal(await store.lastRevision(runId), undefined);
    });

    test('never reads a revision as a task outcome, nor an outcome as a revision', async (store) => {
      const runId = fresh('run');
      await store.putRevision(runId, 1, revision('r1'));
      for (const taskId of ['t1', 't2']) assert.equal(await store.get(runId, taskId, 1), undefined, taskId);
      // Outcomes under the revision's number and above it leave the last revision as it was.
      const outcomes = [completed('t1'), completed('t2', { revision: 0 })];
      await store.put(runId, 1, outcomes[0]!);
      await store.put(runId, 7, outcomes[1]!);
      assert.deepEqual(await store.lastRevision(runId), { ...revision('r1'), revision: 1 });
      assert.deepEqual(await store.get(runId, 't1', 1), outcomes[0]);
      assert.deepEqual(await store.get(runId, 't2', 7), outcomes[1]);
    });
  });
}
