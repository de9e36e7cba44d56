import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { callDigest, type JournalStep, type ModelStep, type StepJournal, type ToolStep } from '../core/index.js';
import { freshEachTest, globalTestApi, type ConformanceOptions } from './conformance-kit.js';

/** What {@link stepJournalConformance} runs against: a StepJournal made afresh for each test. */
export type StepJournalConformanceOptions = ConformanceOptions<StepJournal>;

const fresh = (prefix: string) => `${prefix}-${randomUUID()}`;

/** Text a journal must keep exactly: quotes, backslashes, control characters, emoji, CJK, RTL. */
const awkward =
  'He said "hi" and \'bye\'; C:\\path\\to\\file; line one\nline two\r\n\ttabbed; ' +
  '{"looks":"like json"} </script> 🚀👩‍💻 日本語のテキスト 中文 한국어 العربية e\u0301 \u2028\u2029 \u0000 \u0001 \uFFFD';

const modelStep = (runId: string, taskId: string, index: number, over: Partial<ModelStep> = {}): ModelStep => ({
  kind: 'model',
  runId,
  taskId,
  index,
  model: 'scripted',
  content: `reply ${index} of ${taskId}`,
  toolCalls: [],
  usage: { inputTokens: 10 + index, outputTokens: 5, totalTokens: 15 + index },
  costUsd: 0,
  ...over,
});

const toolStep = (runId: string, taskId: string, index: number, over: Partial<ToolStep> = {}): ToolStep => ({
  kind: 'tool',
  runId,
  taskId,
  index,
  callId: `call-${index}`,
  tool: 'echo',
  args: { text: `step ${index}` },
  ok: true,
  output: `echo of step ${index}`,
  ...over,
});

/** The steps of one task as a model and its tools would leave them, every field of both kinds used. */
function taskSteps(runId: string, taskId: string): JournalStep[] {
  const fetchArgs = { url: 'https://example.com/incidents?year=2026&q="outage"', headers: { accept: 'text/html' } };
  const readArgs = { path: 'C:\\notes\\日本.txt', lines: [1, 2, 3], options: { follow: true, depth: null }, n: 1.5 };
  return [
    modelStep(runId, taskId, 0, {
      model: 'ollama:llama3.1',
      content: awkward,
      toolCalls: [
        { id: 'call_a', name: 'http_get', args: fetchArgs },
        { id: 'call_b', name: 'read_file', args: readArgs },
      ],
      usage: { inputTokens: 1234, outputTokens: 56, totalTokens: 1290 },
      costUsd: 0.001234,
    }),
    toolStep(runId, taskId, 1, {
      call: '0.0',
      digest: callDigest('http_get', fetchArgs),
      callId: 'call_a',
      tool: 'http_get',
      args: fetchArgs,
      output: `<h1>Incidents</h1>\n${awkward}`,
    }),
    toolStep(runId, taskId, 2, {
      call: '0.1',
      digest: callDigest('read_file', readArgs),
      callId: 'call_b',
      tool: 'read_file',
      args: readArgs,
      ok: false,
      output: 'tool_failed: no such file',
      error: { code: 'tool_failed', kind: 'system', message: 'No such file: "C:\\notes\\日本.txt"\nchecked twice' },
    }),
    modelStep(runId, taskId, 3, { content: '', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } }),
    toolStep(runId, taskId, 4, { args: {}, output: '' }),
    modelStep(runId, taskId, 5, { content: 'Three incidents, all resolved.', costUsd: 0.5 }),
  ];
}

/**
 * Defines the behaviour every StepJournal must show (in memory, SQLite, PostgreSQL) as a `describe`
 * block: a task's steps replayed in the order appended and exactly as appended, tasks and runs kept
 * apart, nothing for a task never journaled, and — where the journal has `replayRun` — a run's steps
 * grouped by task key. Every call is awaited, so journals may answer synchronously or not. Steps hold
 * no secrets, since a durable journal stores them redacted.
 */
export function stepJournalConformance(options: StepJournalConformanceOptions): void {
  const { describe, it } = options.testApi ?? globalTestApi('stepJournalConformance');

  const test = freshEachTest(options, it);

  const appendAll = async (journal: StepJournal, steps: readonly JournalStep[]) => {
    for (const step of steps) await journal.append(step);
  };

  describe(`StepJournal conformance: ${options.name}`, () => {
    test('replays a task in append order, each step as appended: replies, tool calls, usage, cost, arguments, failures', async (journal) => {
      const runId = fresh('run');
      const steps = taskSteps(runId, 't1');
      await appendAll(journal, steps);
      const replayed = await journal.replay(runId, 't1');
      assert.deepEqual(
        replayed.map((step) => step.index),
        [0, 1, 2, 3, 4, 5],
      );
      assert.deepEqual(replayed, steps);
    });

    test('keeps the steps of other tasks and runs apart however appends interleave, in replayRun too where it exists', async (journal) => {
      const [runA, runB] = [fresh('run'), fresh('run')];
      // Attempt keys as the runtime writes them: a retry (`#2`) and a strategy's calls (`/cot`).
      const keys = ['t1', 't2', 't1#2', 't1/cot'];
      const expected = new Map<string, JournalStep[]>();
      for (const [runId, key] of [runA, runB].flatMap((run) => keys.map((k) => [run, k] as const)))
        expected.set(
          `${runId} ${key}`,
          [0, 1, 2].map((i) => modelStep(runId, key, i, { content: `${runId} ${key}` })),
        );
      // Round-robin: step 0 of every task, then step 1 of every task, and so on.
      for (const i of [0, 1, 2]) for (const steps of expected.values()) await journal.append(steps[i]!);

      for (const [runId, key] of [runA, runB].flatMap((run) => keys.map((k) => [run, k] as const)))
        assert.deepEqual(await journal.replay(runId, key), expected.get(`${runId} ${key}`), `${key} of ${runId}`);

      if (journal.replayRun) {
        const byKey = await journal.replayRun(runA);
        const sorted = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(
          sorted,
          [...keys].sort().map((key) => [key, expected.get(`${runA} ${key}`)]),
          "replayRun gives every task of the run, each in append order, and no other run's",
        );
        assert.equal((await journal.replayRun(fresh('run'))).size, 0, 'replayRun of an unknown run is empty');
      }
    });

    test('replays a task never journaled, or a run never journaled, as no steps', async (journal) => {
      const runId = fresh('run');
      await appendAll(journal, [modelStep(runId, 't1', 0), toolStep(runId, 't1', 1)]);
      assert.deepEqual(await journal.replay(runId, 't9'), []);
      assert.deepEqual(await journal.replay(runId, 't'), [], 'a prefix of a task id is another task');
      assert.deepEqual(await journal.replay(runId, 't1#2'), [], 'a later attempt is another task');
      assert.deepEqual(await journal.replay(fresh('run'), 't1'), []);
    });

    test('replays steps appended after an earlier replay after the ones it gave', async (journal) => {
      const runId = fresh('run');
      const steps = taskSteps(runId, 't1');
      await appendAll(journal, steps.slice(0, 2));
      assert.deepEqual(await journal.replay(runId, 't1'), steps.slice(0, 2));
      await appendAll(journal, steps.slice(2));
      assert.deepEqual(await journal.replay(runId, 't1'), steps);
    });

    test('keeps 120 steps in order past index 99, and a 200 KB reply exactly', async (journal) => {
      const runId = fresh('run');
      const chunk = 'Lorem ipsum "quoted" \\ back\nslash 日本語 🚀 ';
      const large = chunk.repeat(Math.ceil(200_000 / chunk.length)).slice(0, 200_000);
      const steps = Array.from({ length: 120 }, (_, i) =>
        i % 2 ? toolStep(runId, 't1', i) : modelStep(runId, 't1', i, i === 100 ? { content: large } : {}),
      );
      await appendAll(journal, steps);
      const replayed = await journal.replay(runId, 't1');
      assert.deepEqual(
        replayed.map((step) => step.index),
        steps.map((step) => step.index),
      );
      assert.deepEqual(replayed, steps);
    });
  });
}
