import { describe, expect, it } from 'vitest';
import type { CadreError } from 'cadre';
import { selfConsistency } from 'cadre/agents';
import { ScriptedChatModel, mulberry32 } from 'cadre/testing';
import { strategyContext, strategyEvents } from './strategy-context.js';

/** A model right (`42`) with probability p and otherwise wrong (`41`), one seeded draw per call. */
const fallible = (p: number, seed: number) => {
  const random = mulberry32(seed);
  return new ScriptedChatModel({ respond: () => `Reasoning...\nAnswer: ${random() < p ? 42 : 41}` });
};

/** P(a strict majority of n votes is right) when each is right with probability p. */
function binomialMajority(n: number, p: number): number {
  let total = 0;
  for (let k = Math.floor(n / 2) + 1; k <= n; k++) {
    let choose = 1;
    for (let i = 0; i < k; i++) choose = (choose * (n - i)) / (i + 1);
    total += choose * p ** k * (1 - p) ** (n - k);
  }
  return total;
}

const cycle = (...answers: string[]) => {
  let n = 0;
  return new ScriptedChatModel({ respond: () => `Answer: ${answers[n++ % answers.length]}` });
};

describe('selfConsistency', () => {
  it('is right as often as the binomial majority predicts, rising with the number of samples', async () => {
    const p = 0.6;
    const trials = 1000;
    const accuracy: Record<number, number> = {};
    // Each trial's model gets its own seed from one seeded stream: nearby seeds give related first draws.
    const seeds = mulberry32(20_231_024);
    for (const samples of [1, 5, 9]) {
      let right = 0;
      for (let trial = 1; trial <= trials; trial++) {
        const ctx = strategyContext(fallible(p, Math.floor(seeds() * 2 ** 32)));
        const result = await selfConsistency({ samples }).run({ id: 't', instruction: 'What is 6 * 7?' }, ctx);
        if (result.answer === '42') right += 1;
      }
      accuracy[samples] = right / trials;
      const predicted = binomialMajority(samples, p);
      // Three standard errors of a proportion over `trials` runs.
      expect(Math.abs(accuracy[samples]! - predicted)).toBeLessThan(
        3 * Math.sqrt((predicted * (1 - predicted)) / trials),
      );
    }
    expect(accuracy[5]).toBeGreaterThan(accuracy[1]!);
    expect(accuracy[9]).toBeGreaterThan(accuracy[1]! + 0.05);
  }, 120_000);

  it('stops sampling once the remaining samples cannot change the winner', async () => {
    const model = cycle('7');
    const ctx = strategyContext(model);

    const result = await selfConsistency({ samples: 5 }).run({ id: 't', instruction: 'q' }, ctx);

    // After 3 of 5 agree, 2 more votes cannot overturn them.
    expect(model.calls).toBe(3);
    expect(result).toMatchObject({ answer: '7', confidence: 1, samplesTaken: 3, stoppedEarly: true, steps: 3 });

    const all = cycle('7');
    const full = await selfConsistency({ samples: 5, earlyStop: false }).run(
      { id: 't', instruction: 'q' },
      strategyContext(all),
    );
    expect(all.calls).toBe(5);
    expect(full.stoppedEarly).toBe(false);
  });

  it('does not stop early while the runner-up can still win', async () => {
    const model = cycle('A', 'B', 'A', 'B', 'A');
    const result = await selfConsistency({ samples: 5, concurrency: 1 }).run(
      { id: 't', instruction: 'q' },
      strategyContext(model),
    );
    expect(model.calls).toBe(5);
    expect(result).toMatchObject({ answer: 'A', confidence: 0.6, votes: { A: 3, B: 2 } });
  });

  it('reports its confidence in the result and in a strategy.decided event; an answerless sample casts no vote', async () => {
    // The fourth reply has no Answer line: it casts no vote.
    const noLine = new ScriptedChatModel({
      respond: (c) => (c.call === 3 ? 'I do not know.' : `Answer: ${['Paris', 'paris.', 'Lyon'][c.call]}`),
    });
    const result = await selfConsistency({ samples: 4, earlyStop: false }).run(
      { id: 't', instruction: 'Capital of France?' },
      strategyContext(noLine),
    );
    expect(result.answer).toBe('Paris');
    expect(result.votes).toEqual({ Paris: 2, Lyon: 1 });
    expect(result.confidence).toBeCloseTo(2 / 3);

    const seenCtx = strategyContext(cycle('Paris', 'Paris', 'Lyon'));
    await selfConsistency({ samples: 3, earlyStop: false }).run({ id: 'e', instruction: 'q' }, seenCtx);
    const decided = strategyEvents(seenCtx.seen, 'strategy.decided');
    expect(decided).toEqual([
      expect.objectContaining({ strategy: 'self-consistency', answer: 'Paris', votes: { Paris: 2, Lyon: 1 } }),
    ]);
    expect(decided[0]!.confidence).toBeCloseTo(2 / 3);
    expect(strategyEvents(seenCtx.seen, 'strategy.node').map((e) => e.node)).toEqual([
      'sample-1',
      'sample-2',
      'sample-3',
    ]);
  });

  it('passes every answer to a custom aggregator instead of voting', async () => {
    const result = await selfConsistency({
      samples: 3,
      aggregate: (answers) => ({ answer: String(Math.max(...answers.map(Number))), confidence: 0.5 }),
    }).run({ id: 't', instruction: 'q' }, strategyContext(cycle('3', '9', '4')));
    expect(result).toMatchObject({ answer: '9', confidence: 0.5, samplesTaken: 3 });
  });

  it('fails with task_failed when no sample gives an answer, and rejects bad options', async () => {
    const silent = new ScriptedChatModel({ respond: () => 'hmm' });
    await expect(
      selfConsistency({ samples: 2 }).run({ id: 't', instruction: 'q' }, strategyContext(silent)),
    ).rejects.toMatchObject({ code: 'task_failed' });
    for (const bad of [
      { samples: 0 },
      { samples: 2.5 },
      { samples: 3, aggregate: () => ({ answer: '', confidence: 0 }), earlyStop: true },
    ]) {
      expect(() => selfConsistency(bad)).toThrow(expect.objectContaining({ code: 'input_invalid' }) as CadreError);
    }
  });
});
