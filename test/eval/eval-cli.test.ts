import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EvalResults } from '../../src/eval/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const suite = 'test/eval/fixtures/small-suite.json';
const app = ['--app', 'test/eval/fixtures/eval.app.ts', '--agent', 'fixed'];
// No model is reachable (Ollama on a closed port, no cloud keys), and no colour in what we parse.
const offlineEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  OLLAMA_HOST: '127.0.0.1:2',
  NO_COLOR: '1',
};

let dataDir = '';
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cadre-eval-'));
});

function cadre(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', ...args], {
    cwd: root,
    env: { ...offlineEnv, CADRE_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 110_000,
  });
}

const results = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as EvalResults;

describe('cadre eval', { timeout: 120_000 }, () => {
  it('prints a table whose pass rate, Wilson interval and token total equal a hand count', () => {
    const out = cadre([suite, ...app, '--scripted', '--out', join(dataDir, 'run.json')]);
    expect(out.stderr).not.toMatch(/error/);
    expect(out.status).toBe(0);
    // 3 of 4 pass (subtract's expected value is wrong on purpose). Wilson 95% for 3/4, z = 1.96:
    // centre (0.75 + 0.4802) / 1.9604 = 0.6275, half 0.9998 * sqrt(0.046875 + 0.060025) = 0.3269.
    expect(out.stdout).toMatch(/pass rate 75\.0% \(3\/4 passed, 1 failed\) · 95% CI 30\.1%–95\.4%/);
    // Four calls of 10 input and 5 output tokens each.
    expect(out.stdout).toMatch(/tokens 60 \(in 40 \/ out 20\)/);
    expect(out.stdout).toMatch(/model calls 4 · cache hits 0/);
    expect(out.stdout).toMatch(/^subtract +failed +15 .* expected 4, got 3$/m);
    expect(out.stdout).toMatch(/^add +passed +15 /m);
    // The registered agent brings its own scripted model: the output names it, not the offline oracle.
    expect(out.stdout).toMatch(/models: agent:fixed's own \(local:fixed\)/);
    expect(out.stderr).not.toMatch(/simulated/);
    const written = results(join(dataDir, 'run.json'));
    expect(written.summary).toMatchObject({ cases: 4, ran: 4, passed: 3, failed: 1, passRate: 0.75, modelCalls: 4 });
    expect(written.summary.interval.low).toBeCloseTo(0.3006, 4);
    expect(written.summary.interval.high).toBeCloseTo(0.9544, 4);
    expect(written.summary.usage).toEqual({ inputTokens: 40, outputTokens: 20, totalTokens: 60 });
  });

  it('answers a rerun of the same suite from the cache, with no model call and no tokens', () => {
    expect(cadre([suite, ...app, '--scripted', '--out', join(dataDir, 'first.json')]).status).toBe(0);
    const again = cadre([suite, ...app, '--scripted', '--out', join(dataDir, 'again.json')]);
    expect(again.status).toBe(0);
    const first = results(join(dataDir, 'first.json'));
    const second = results(join(dataDir, 'again.json'));
    expect(first.summary).toMatchObject({ modelCalls: 4, cacheHits: 0 });
    expect(second.summary).toMatchObject({ modelCalls: 0, cacheHits: 4, passed: 3 });
    expect(second.summary.usage.totalTokens).toBe(0);
    expect(second.cases.map((c) => c.answer)).toEqual(first.cases.map((c) => c.answer));
  });

  it('--compare lists an injected regression case by case and exits 1; an unchanged rerun exits 0', () => {
    const baseline = join(dataDir, 'baseline.json');
    expect(cadre([suite, ...app, '--scripted', '--out', baseline]).status).toBe(0);
    const worse = cadre([suite, ...app, '--scripted', '--compare', baseline], { EVAL_FIXTURE_BREAK: '3 * 5' });
    expect(worse.status).toBe(1);
    expect(worse.stdout).toMatch(/pass rate 75\.0% → 50\.0% \(down 25\.0 points; allowed drop 5\.0\)/);
    expect(worse.stdout).toMatch(/regression multiply: passed before, failed now \(expected 15, got 99\)/);
    expect(worse.stdout).not.toMatch(/regression (add|capital|subtract)/);
    expect(worse.stdout).toMatch(/FAIL: the pass rate fell by 25\.0 points/);
    const same = cadre([suite, ...app, '--scripted', '--compare', baseline, '--json']);
    expect(same.status).toBe(0);
    const printed = JSON.parse(same.stdout) as EvalResults & {
      comparison: { regressions: unknown[]; failed: boolean };
    };
    expect(printed.comparison).toMatchObject({ regressions: [], failed: false });
  });

  it('rejects a bad suite file with exit 2 and input_invalid naming the field and the case', () => {
    const out = cadre(['test/eval/fixtures/bad-suite.json', '--scripted']);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(
      /input_invalid: Invalid suite .*bad-suite\.json: cases\[1\]\.check\.tolerance \(case "loose"\)/,
    );
  });

  it('runs the arithmetic suite offline and says the answers came from a simulated model', () => {
    const out = cadre(['examples/evals/arithmetic.json', '--agent', 'sc', '--no-cache', '--accuracy', '0.7', '--json']);
    expect(out.status).toBe(0);
    expect(out.stderr).toMatch(
      /No model reachable.*Answers come from the simulated model oracle \(accuracy 0\.7, seed 1/s,
    );
    const printed = JSON.parse(out.stdout) as EvalResults;
    expect(printed.models.kind).toBe('simulated');
    expect(printed.subject).toBe('sc');
    expect(printed.summary.cases).toBe(printed.cases.length);
    expect(printed.summary.ran).toBeGreaterThanOrEqual(20);
  });

  it("runs the Game of 24 suite offline with Tree of Thoughts and prints the table (the issue's done-when)", () => {
    const out = cadre(['examples/evals/game24.json', '--agent', 'tot']);
    expect(out.status).toBe(0);
    expect(out.stderr).toMatch(
      /Answers come from the simulated model game24-sim \(accuracy 0\.04, propose 0\.9, value 0\.9, seed 1/,
    );
    expect(out.stdout).toMatch(/^suite game24 · 100 cases · tot · models: the simulated model game24-sim/m);
    const rows = out.stdout.split('\n').filter((line) => /^\d{3,4} +(passed|failed|error) +\d+ /.test(line));
    expect(rows).toHaveLength(100);
    // No case cut short by the per-case step limit: Tree of Thoughts' widest search fits in it.
    expect(out.stdout).not.toMatch(/budget exceeded/i);
    expect(out.stdout).toMatch(/pass rate \d+\.\d% \(\d+\/100 passed.*95% CI/);
    expect(out.stdout).toMatch(/a simulation, not a language model/);
  });

  it("takes the game24 simulator's three qualities as flags, and refuses step qualities for another simulator", () => {
    const flags = ['--scripted', '--no-cache', '--json', '--concurrency', '8'];
    const qualities = ['--accuracy', '0.5', '--propose-accuracy', '0.7', '--value-accuracy', '0.8'];
    const out = cadre(['examples/evals/game24.json', '--agent', 'cot', ...qualities, ...flags]);
    expect(out.status).toBe(0);
    const printed = JSON.parse(out.stdout) as EvalResults;
    expect(printed.models.description).toMatch(/game24-sim \(accuracy 0\.5, propose 0\.7, value 0\.8, seed 1/);
    // cot answers in one go: only `--accuracy` counts, 0.5 over 100 puzzles.
    expect(printed.summary.passed).toBeGreaterThan(30);
    expect(printed.summary.passed).toBeLessThan(70);

    const wrong = cadre(['examples/evals/arithmetic.json', '--propose-accuracy', '0.7', ...flags]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/input_invalid: proposeAccuracy and valueAccuracy apply to the game24 simulator/);
  });
});
