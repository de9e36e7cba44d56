import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkAnswer,
  compareResults,
  finalAnswer,
  loadSuite,
  parseSuite,
  summarise,
  wilsonInterval,
  type CaseResult,
  type EvalCase,
  type EvalResults,
} from '../../src/eval/index.js';

const check = (reply: string, evalCase: Omit<EvalCase, 'id' | 'input'>) =>
  checkAnswer(reply, { id: 'x', input: 'q', ...evalCase });

describe('checkers', () => {
  it('numeric: reads the last number of the final answer, within an absolute or relative tolerance', async () => {
    expect(await check('So 1,250 in all.\nAnswer: $1,250', { expected: 1250 })).toEqual({ pass: true });
    expect(await check('Answer: 1250.5', { expected: 1250 })).toMatchObject({
      pass: false,
      reason: 'expected 1250, got 1250.5',
    });
    expect(
      await check('Answer: 101', { check: { type: 'numeric', value: 100, tolerance: 0.02, mode: 'relative' } }),
    ).toEqual({ pass: true });
    expect(
      await check('Answer: 103', { check: { type: 'numeric', value: 100, tolerance: 0.02, mode: 'relative' } }),
    ).toMatchObject({ pass: false });
    expect(await check('Answer: none', { expected: 3 })).toEqual({
      pass: false,
      reason: 'the answer states no number',
    });
  });

  it('exact: compares the trimmed final answer, ignoring case and spacing only when asked', async () => {
    expect(await check('Answer:  Paris ', { expected: 'Paris' })).toEqual({ pass: true });
    expect(await check('Answer: paris', { expected: 'Paris' })).toMatchObject({ pass: false });
    expect(
      await check('Answer: new   YORK', { expected: 'New York', check: { type: 'exact', normalize: true } }),
    ).toEqual({ pass: true });
  });

  it('regex and json-schema: match the final answer, and say which field of the JSON is wrong', async () => {
    expect(await check('Answer: version 2.4.1', { check: { type: 'regex', pattern: '\\b2\\.4\\.1\\b' } })).toEqual({
      pass: true,
    });
    expect(await check('Answer: V2', { check: { type: 'regex', pattern: '^v2$', flags: 'i' } })).toEqual({
      pass: true,
    });
    const schema = { type: 'object', required: ['count'], properties: { count: { type: 'integer', minimum: 0 } } };
    expect(await check('Answer:\n```json\n{"count": 3}\n```', { check: { type: 'json-schema', schema } })).toEqual({
      pass: true,
    });
    const bad = await check('Answer: {"count": -1}', { check: { type: 'json-schema', schema } });
    expect(bad.pass).toBe(false);
    expect(bad.reason).toMatch(/^count: /);
    expect(await check('Answer: count is 3', { check: { type: 'json-schema', schema } })).toEqual({
      pass: false,
      reason: 'the answer is not JSON',
    });
  });

  it('game24: passes an expression that uses each number once and makes 24', async () => {
    const game = { check: { type: 'game24' as const, numbers: [4, 9, 10, 13] } };
    expect(await check('Answer: (10 - 4) * (13 - 9) = 24', game)).toEqual({ pass: true });
    expect((await check('Answer: (10 - 4) * (13 - 9) + 4 = 24', game)).pass).toBe(false);
    expect((await check('Answer: 4 + 9 + 10 + 13', game)).pass).toBe(false);
  });

  it('finalAnswer takes what follows the last Answer: line, else the whole reply', () => {
    expect(finalAnswer('Answer: 3 is wrong.\nLet me redo it.\nFinal answer: 4')).toBe('4');
    expect(finalAnswer('**Answer:** {\n  "a": 1\n}')).toBe('{\n  "a": 1\n}');
    expect(finalAnswer('  just this  ')).toBe('just this');
  });
});

describe('suite files', () => {
  const problem = (value: unknown) => {
    try {
      parseSuite(value, 'test.json');
    } catch (error) {
      return error as { code: string; message: string; details: Record<string, unknown> };
    }
    throw new Error('the suite was accepted');
  };
  const one = (c: Record<string, unknown>) => ({ name: 's', cases: [{ id: 'a', input: 'q', expected: 1 }, c] });

  it('names the bad field and the case of a bad suite (input_invalid)', () => {
    expect(problem(one({ id: 'a', input: 'q', expected: 2 }))).toMatchObject({
      code: 'input_invalid',
      details: { field: 'cases[1].id', case: 'a' },
    });
    expect(problem(one({ id: 'b', input: 'q' })).details).toMatchObject({ field: 'cases[1].expected', case: 'b' });
    expect(problem(one({ id: 'c', input: 'q', check: { type: 'regex', pattern: '(' } })).details).toMatchObject({
      field: 'cases[1].check.pattern',
    });
    expect(problem(one({ id: 'd', input: 'q', expected: 1, weight: 2 })).message).toMatch(
      /cases\[1\] \(case "d"\).*weight/,
    );
    expect(problem(one({ id: 'e', input: 'q', check: { type: 'fuzzy' } })).details).toMatchObject({
      field: 'cases[1].check.type',
    });
    expect(problem({ name: 's', cases: [] }).details).toMatchObject({ field: 'cases' });
  });

  it('reports a file that is not JSON as input_invalid', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cadre-suite-')), 'broken.json');
    writeFileSync(path, '{ "name": "x", ');
    await expect(loadSuite(path)).rejects.toMatchObject({
      code: 'input_invalid',
      message: expect.stringMatching(/is not JSON/),
    });
  });

  it('accepts the shipped suites', async () => {
    for (const file of ['arithmetic', 'tool-use'])
      expect((await loadSuite(`examples/evals/${file}.json`)).cases.length).toBeGreaterThanOrEqual(10);
  });
});

describe('totals and comparisons', () => {
  it('gives the Wilson 95% interval of published worked values', () => {
    const round = ({ low, high }: { low: number; high: number }) => [low, high].map((x) => Number(x.toFixed(4)));
    expect(round(wilsonInterval(3, 4))).toEqual([0.3006, 0.9544]);
    expect(round(wilsonInterval(0, 10))).toEqual([0, 0.2775]);
    expect(round(wilsonInterval(10, 10))).toEqual([0.7225, 1]);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });

  const results = (statuses: Record<string, CaseResult['status']>): EvalResults => {
    const cases = Object.entries(statuses).map(([id, status]) => ({
      id,
      status,
      answer: null,
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      costUsd: 0.5,
      latencyMs: 10,
      modelCalls: 1,
      cacheHits: 0,
    }));
    return {
      version: 1,
      suite: { name: 's' },
      subject: 'react',
      models: { kind: 'given', description: 'x' },
      startedAt: '',
      durationMs: 0,
      summary: summarise(cases),
      cases,
    };
  };

  it('sums cases and leaves skipped ones out of the pass rate', () => {
    const summary = results({ a: 'passed', b: 'failed', c: 'error', d: 'skipped' }).summary;
    expect(summary).toMatchObject({ cases: 4, ran: 3, passed: 1, failed: 1, errors: 1, skipped: 1, costUsd: 2 });
    expect(summary.passRate).toBeCloseTo(1 / 3);
    expect(summary.usage.totalTokens).toBe(8);
  });

  it('lists regressions and fixes case by case and fails only past the allowed drop', () => {
    const before = results({ a: 'passed', b: 'passed', c: 'failed', d: 'passed', e: 'passed' });
    const now = results({ a: 'passed', b: 'error', c: 'passed', d: 'failed', f: 'passed' });
    const comparison = compareResults(before, now, { maxDrop: 0.05 });
    expect(comparison.regressions.map((r) => [r.id, r.before, r.now])).toEqual([
      ['b', 'passed', 'error'],
      ['d', 'passed', 'failed'],
    ]);
    expect(comparison.fixed.map((f) => f.id)).toEqual(['c']);
    expect(comparison.missing).toEqual(['e']);
    expect(comparison).toMatchObject({ shared: 4, passRateBefore: 0.75, passRateNow: 0.5, failed: true });
    const twenty = (failures: number) =>
      results(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`c${i}`, i < failures ? 'failed' : 'passed'])));
    expect(compareResults(twenty(0), twenty(1), { maxDrop: 0.05 }).failed).toBe(false);
    expect(compareResults(twenty(0), twenty(2), { maxDrop: 0.05 }).failed).toBe(true);
  });
});
