import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFixedRouter, type ModelRouter, type RouteRequest } from '../../src/models/router.js';
import { ScriptedChatModel } from '../../src/testing/index.js';
import {
  defineSuite,
  judgeInstructions,
  loadSuite,
  offlineModels,
  openAnswerCache,
  oracleModel,
  parseSuite,
  runEval,
  type EvalSuite,
} from '../../src/eval/index.js';

const local = (model: ScriptedChatModel, id: string) =>
  createFixedRouter(model, { provider: 'local', model: id, location: 'local' });

const arithmetic: EvalSuite = defineSuite({
  name: 'sums',
  cases: [
    { id: 'a', input: 'What is 2 + 2?', expected: 4 },
    { id: 'b', input: 'What is 6 * 7?', expected: 42 },
    { id: 'c', input: 'What is 9 - 5?', expected: 4 },
    { id: 'd', input: 'What is 8 / 2?', expected: 4 },
  ],
});

describe('runEval', () => {
  it('answers a rerun from the cache file: the model is not called again', async () => {
    const model = oracleModel({ cases: arithmetic.cases, accuracy: 1 });
    const path = join(mkdtempSync(join(tmpdir(), 'cadre-eval-cache-')), 'cache.db');
    const cache = openAnswerCache({ path });
    const first = await runEval({ suite: arithmetic, router: local(model, 'oracle'), cache });
    cache.close();
    expect(model.calls).toBe(4);
    expect(first.summary).toMatchObject({ passed: 4, modelCalls: 4, cacheHits: 0 });
    const reopened = openAnswerCache({ path });
    const second = await runEval({ suite: arithmetic, router: local(model, 'oracle'), cache: reopened });
    reopened.close();
    expect(model.calls).toBe(4);
    expect(second.summary).toMatchObject({ passed: 4, modelCalls: 0, cacheHits: 4, costUsd: 0 });
    expect(second.summary.usage.totalTokens).toBe(0);
  });

  it('caches each self-consistency sample apart, so a rerun replays every vote with no model call', async () => {
    const model = oracleModel({ cases: arithmetic.cases, accuracy: 0.5, seed: 7 });
    const cache = openAnswerCache({ path: ':memory:' });
    const first = await runEval({ suite: arithmetic, agent: 'sc', router: local(model, 'oracle'), cache });
    const calls = model.calls;
    // Five samples of one prompt are five answers, not one answer served four times from the cache.
    expect(first.summary.cacheHits).toBe(0);
    expect(first.summary.modelCalls).toBe(calls);
    expect(calls).toBeGreaterThanOrEqual(3 * arithmetic.cases.length);
    const second = await runEval({ suite: arithmetic, agent: 'sc', router: local(model, 'oracle'), cache });
    expect(model.calls).toBe(calls);
    expect(second.summary).toMatchObject({ modelCalls: 0, cacheHits: calls });
    expect(second.cases.map((c) => c.answer)).toEqual(first.cases.map((c) => c.answer));
  });

  it('stops starting cases once the suite budget is spent, and counts them as skipped, not failed', async () => {
    const model = oracleModel({ cases: arithmetic.cases, accuracy: 1 });
    const results = await runEval({
      suite: arithmetic,
      router: local(model, 'oracle'),
      concurrency: 1,
      budget: { maxSteps: 2 },
    });
    expect(model.calls).toBe(2);
    expect(results.cases.map((c) => c.status)).toEqual(['passed', 'passed', 'skipped', 'skipped']);
    expect(results.cases[2]!.reason).toMatch(/suite budget: steps reached/);
    expect(results.summary).toMatchObject({ cases: 4, ran: 2, skipped: 2, passRate: 1 });
  });

  it('routes an llm-judge check as task kind judge, and passes or fails on its verdict', async () => {
    const model = new ScriptedChatModel({
      respond: ({ messages, task }) => {
        if (String(messages[0]?.content).startsWith(judgeInstructions)) {
          return /## Answer to grade\n.*Paris/.test(task) ? 'PASS\nIt names Paris.' : 'FAIL\nWrong city.';
        }
        return task.includes('France') ? 'Answer: Paris' : 'Answer: Lyon';
      },
    });
    const inner = local(model, 'judge-and-answer');
    const kinds: Array<string | undefined> = [];
    const router: ModelRouter = {
      candidates: inner.candidates,
      select: (request: RouteRequest) => {
        kinds.push(request.taskKind);
        return inner.select(request);
      },
    };
    const rubric = 'The answer names the capital city of the country asked about.';
    const suite = defineSuite({
      name: 'capitals',
      cases: [
        { id: 'france', input: 'What is the capital of France?', check: { type: 'llm-judge', rubric } },
        { id: 'italy', input: 'What is the capital of Italy?', check: { type: 'llm-judge', rubric } },
      ],
    });
    const results = await runEval({ suite, router, concurrency: 1 });
    expect(results.cases.map((c) => [c.id, c.status, c.reason])).toEqual([
      ['france', 'passed', 'judge: It names Paris.'],
      ['italy', 'failed', 'judge: Wrong city.'],
    ]);
    expect(kinds.filter((k) => k === 'judge')).toHaveLength(2);
    // The judge's calls count with the case's: one to answer, one to judge.
    expect(results.cases.map((c) => c.modelCalls)).toEqual([2, 2]);
  });

  it('takes a function checker from code, and refuses one in a suite file', async () => {
    const suite = defineSuite({
      name: 'even',
      cases: [
        {
          id: 'six',
          input: 'What is 2 + 4?',
          check: { type: 'function', check: (answer) => Number(answer) % 2 === 0 },
        },
      ],
    });
    const model = new ScriptedChatModel({ replies: ['Answer: 6'] });
    const results = await runEval({ suite, router: local(model, 'six') });
    expect(results.summary.passed).toBe(1);
    expect(() => parseSuite({ name: 'x', cases: [{ id: 'f', input: 'q', check: { type: 'function' } }] })).toThrow(
      expect.objectContaining({
        code: 'input_invalid',
        details: expect.objectContaining({ field: 'cases[0].check.check', case: 'f' }),
      }),
    );
  });

  it('refuses a case naming a tool the suite does not have, naming the case', async () => {
    const suite = defineSuite({
      name: 't',
      cases: [{ id: 'web', input: 'Fetch it', expected: 'x', tools: ['browser'] }],
    });
    const model = new ScriptedChatModel({ replies: ['Answer: x'] });
    await expect(runEval({ suite, router: local(model, 'x') })).rejects.toMatchObject({
      code: 'input_invalid',
      details: { field: 'cases[0].tools', case: 'web' },
    });
    expect(model.calls).toBe(0);
  });

  it('runs the shipped tool-use suite offline through the real built-in tools, every case passing', async () => {
    const suite = await loadSuite('examples/evals/tool-use.json');
    const { router, source } = offlineModels({ suite });
    const results = await runEval({
      suite,
      router,
      models: source,
      config: { workspaceDir: 'examples/evals/tool-use-files' },
    });
    expect(source.kind).toBe('scripted');
    expect(results.cases.filter((c) => c.status !== 'passed').map((c) => [c.id, c.reason])).toEqual([]);
    // One call to ask for the tool, one to answer from its result.
    expect(results.cases.every((c) => c.modelCalls === 2)).toBe(true);
    expect(results.cases.find((c) => c.id === 'read-version')!.answer).toContain('Version 2.4.1');
  });

  it('judges offline with the oracle: an answer equal to the reference passes, another fails', async () => {
    const suite = defineSuite({
      name: 'judged',
      cases: [{ id: 'sum', input: 'What is 20 + 22?', expected: 42, check: { type: 'llm-judge', rubric: 'The sum.' } }],
    });
    const verdicts = [];
    for (const accuracy of [1, 0]) {
      const model = oracleModel({ cases: suite.cases, accuracy });
      verdicts.push((await runEval({ suite, router: local(model, `oracle-${accuracy}`) })).cases[0]!.status);
    }
    expect(verdicts).toEqual(['passed', 'failed']);
  });
});
